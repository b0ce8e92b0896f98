"""Real time series that ship inside ``statsmodels`` (its ``statsmodels.datasets`` read files in the wheel).

Nothing is downloaded. Four series of different character, plus El Niño:

====================  ===========  ======  ===============================================================
loader                frequency    length  character
====================  ===========  ======  ===============================================================
:func:`co2`           weekly or    2284 /  Mauna Loa CO2 (ppm), 1958-2001: strong trend + yearly season;
                      monthly      526     **has missing weeks**, handled as the caller says (``missing=``)
:func:`sunspots`      yearly       309     sunspot numbers 1700-2008: a quasi-periodic ~11-year cycle,
                                           asymmetric (fast rise, slow fall), i.e. nonlinear
:func:`nile`          yearly       100     Nile flow at Aswan 1871-1970: short and noisy, a level shift
                                           around 1899
:func:`macrodata`     quarterly    202     US macro data 1959-2009, several variables at once
                                           (unemployment, inflation, GDP growth)
:func:`elnino`        monthly      732     sea-surface temperature off South America 1950-2010
====================  ===========  ======  ===============================================================

Every loader returns a :class:`Series`: ``values`` ``(T,)`` for one variable or ``(T, k)`` for
several (column 0 is the target), ``time`` in decimal years, the seasonal ``period``, and ``filled``
-- a ``(T,)`` mask of the values that were *not* observed but filled in, so a missing value is never
handled silently.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from course_lib.data.corpora import CorpusUnavailable

__all__ = ["Series", "SeriesUnavailable", "co2", "sunspots", "nile", "elnino", "macrodata", "load_series",
           "SERIES", "fill_missing"]

MISSING_CHOICES = ("interpolate", "keep", "raise")


class SeriesUnavailable(CorpusUnavailable):
    """statsmodels (which ships the series) is missing or does not have the data set."""


@dataclass(frozen=True)
class Series:
    """One real time series.

    Attributes:
        name: short name (``"co2"``, ``"sunspots"``, ...).
        values: ``(T,)`` float64, or ``(T, k)`` for several variables (column 0 is the target).
        time: ``(T,)`` float64, decimal years (1958.24 is late March 1958).
        columns: the name of each variable (``k`` names; one for a ``(T,)`` series).
        freq: ``"weekly"``, ``"monthly"``, ``"quarterly"`` or ``"yearly"``.
        period: the lag a seasonal naive forecast repeats (12 for monthly data, 11 -- the
            sunspot cycle -- for sunspots, 1 where there is none).
        seasonal: True if ``period`` is a calendar season (then MASE is scaled by the seasonal
            naive error, as in the M4 competition), False for a cycle or none.
        filled: ``(T,)`` bool, True where the value was missing and has been filled in.
        unit: unit of the target.
        description: one line on where the data come from and what was done to them.
    """

    name: str
    values: np.ndarray
    time: np.ndarray
    columns: tuple[str, ...]
    freq: str
    period: int
    seasonal: bool
    filled: np.ndarray
    unit: str
    description: str

    def __post_init__(self) -> None:
        if self.values.shape[0] != self.time.shape[0] or self.filled.shape != self.time.shape:
            raise ValueError(f"{self.name}: values {self.values.shape}, time {self.time.shape} and filled "
                             f"{self.filled.shape} must have the same length")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def target(self) -> np.ndarray:
        """The target variable, ``(T,)``."""
        return self.values if self.values.ndim == 1 else self.values[:, 0]

    @property
    def mase_period(self) -> int:
        """The ``m`` of MASE's scale: the season for seasonal data, else 1 (the M4 convention)."""
        return self.period if self.seasonal else 1

    def __repr__(self) -> str:
        k = "" if self.values.ndim == 1 else f" x {self.values.shape[1]} variables"
        return (f"Series({self.name!r}: {len(self)} {self.freq} values{k}, {self.time[0]:.2f}-{self.time[-1]:.2f}, "
                f"period {self.period}, {int(self.filled.sum())} filled)")


def _datasets() -> Any:
    try:
        import statsmodels.datasets as ds
    except ImportError as exc:
        raise SeriesUnavailable(
            "the time series come from the 'statsmodels' package, which is not installed: "
            "pip install 'statsmodels>=0.14'") from exc
    return ds


def _load(name: str) -> Any:
    ds = _datasets()
    try:
        return getattr(ds, name).load_pandas().data
    except (AttributeError, OSError, FileNotFoundError) as exc:
        raise SeriesUnavailable(f"statsmodels.datasets.{name} could not be read ({exc}); "
                                "reinstall statsmodels from PyPI ('statsmodels>=0.14')") from exc


def fill_missing(values: np.ndarray, time: np.ndarray, missing: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Handle the NaNs of ``values: (T,)`` as asked: ``"interpolate"`` (linearly in ``time``; a gap
    at either end takes the nearest observed value), ``"keep"`` (leave the NaNs, e.g. for a Kalman
    filter, which skips them) or ``"raise"`` (``ValueError`` if there is any).

    Returns:
        ``(values, filled)``: a new ``(T,)`` array and the ``(T,)`` bool mask of the filled (or, with
        ``"keep"``, still missing) positions.
    """
    if missing not in MISSING_CHOICES:
        raise ValueError(f"missing must be one of {MISSING_CHOICES}, got {missing!r}")
    values = np.asarray(values, dtype=np.float64).copy()
    gaps = np.isnan(values)
    if gaps.all():
        raise ValueError(f"{what}: every value is missing")
    if gaps.any():
        if missing == "raise":
            raise ValueError(f"{what} has {int(gaps.sum())} missing values; pass missing='interpolate' "
                             "(fill them linearly) or missing='keep' (leave NaN)")
        if missing == "interpolate":
            values[gaps] = np.interp(time[gaps], time[~gaps], values[~gaps])
    return values, gaps


def _decimal_year(index: Any) -> np.ndarray:
    days = np.where(index.is_leap_year, 366.0, 365.0)
    return (index.year + (index.day_of_year - 1) / days).to_numpy(dtype=np.float64)


def co2(freq: str = "monthly", *, missing: str) -> Series:
    """Mauna Loa atmospheric CO2 (ppm), weekly from March 1958 to December 2001.

    59 of the 2284 weeks have no measurement. ``missing`` says what to do with them -- there is no
    default, so the choice is always visible in the calling code:

    * ``"interpolate"``: fill linearly in time (``Series.filled`` marks them);
    * ``"keep"``: leave NaN (a Kalman filter simply skips missing observations);
    * ``"raise"``: ``ValueError``.

    Args:
        freq: ``"weekly"`` (2284 values) or ``"monthly"`` (526 values: the mean of the weeks measured
            in each month; the 5 months without any measured week are the missing ones).
    """
    if freq not in ("weekly", "monthly"):
        raise ValueError(f"freq must be 'weekly' or 'monthly', got {freq!r}")
    weekly = _load("co2")["co2"].astype(float)
    n_missing_weeks = int(weekly.isna().sum())
    if freq == "monthly":
        raw = weekly.resample("MS").mean()  # the mean of the measured weeks of each month
        period, note = 12, f"monthly means of the measured weeks ({n_missing_weeks} weeks missing)"
    else:
        raw, period, note = weekly, 52, ""
    time = _decimal_year(raw.index)
    values, filled = fill_missing(raw.to_numpy(), time, missing, f"co2 ({freq})")
    how = {"interpolate": "filled by linear interpolation", "keep": "left as NaN", "raise": ""}[missing]
    return Series("co2", values, time, ("co2",), freq, period, True, filled, "ppm",
                  f"Mauna Loa CO2, {freq}, {int(time[0])}-{int(time[-1])}; {note + '; ' if note else ''}"
                  f"{int(filled.sum())} missing "
                  f"{'months' if freq == 'monthly' else 'weeks'} {how}".rstrip())


def sunspots() -> Series:
    """Yearly mean sunspot numbers, 1700-2008 (309 values, none missing): an ~11-year cycle whose
    length (9-14 years) and height vary, with fast rises and slower falls."""
    df = _load("sunspots")
    values = df["SUNACTIVITY"].to_numpy(dtype=np.float64)
    time = df["YEAR"].to_numpy(dtype=np.float64)
    values, filled = fill_missing(values, time, "raise", "sunspots")
    return Series("sunspots", values, time, ("sunactivity",), "yearly", 11, False, filled, "sunspot number",
                  "yearly sunspot numbers 1700-2008 (none missing); period 11 is the mean cycle, not a season")


def nile() -> Series:
    """Yearly flow of the Nile at Aswan, 1871-1970 (100 values, 10^8 m^3): short and noisy, with
    a drop in level around 1899 (a classic example for the local level model)."""
    df = _load("nile")
    time = df["year"].to_numpy(dtype=np.float64)
    values, filled = fill_missing(df["volume"].to_numpy(dtype=np.float64), time, "raise", "nile")
    return Series("nile", values, time, ("volume",), "yearly", 1, False, filled, "10^8 m^3",
                  "Nile flow at Aswan 1871-1970 (none missing)")


def elnino() -> Series:
    """Monthly sea-surface temperature (deg C) off the coast of South America, 1950-2010 (732 values)."""
    df = _load("elnino")
    months = df.drop(columns="YEAR").to_numpy(dtype=np.float64)          # (years, 12)
    time = (df["YEAR"].to_numpy(dtype=np.float64)[:, None] + np.arange(12) / 12).ravel()
    values, filled = fill_missing(months.ravel(), time, "raise", "elnino")
    return Series("elnino", values, time, ("sst",), "monthly", 12, True, filled, "deg C",
                  "El Nino sea-surface temperature, monthly 1950-2010 (none missing)")


def macrodata() -> Series:
    """US quarterly macro data 1959Q2-2009Q3 (202 quarters), three variables:

    * ``unemp``: the unemployment rate (%), the target (column 0);
    * ``infl``: inflation (% per year);
    * ``gdp_growth``: growth of real GDP, ``400 * log(gdp_t / gdp_{t-1})`` (% per year; this is why
      the first quarter, 1959Q1, is dropped).
    """
    df = _load("macrodata")
    time = (df["year"] + (df["quarter"] - 1) / 4).to_numpy(dtype=np.float64)[1:]
    gdp = df["realgdp"].to_numpy(dtype=np.float64)
    cols = [df["unemp"].to_numpy(dtype=np.float64)[1:], df["infl"].to_numpy(dtype=np.float64)[1:],
            400 * np.diff(np.log(gdp))]
    for name, c in zip(("unemp", "infl", "gdp_growth"), cols):
        fill_missing(c, time, "raise", f"macrodata {name}")
    values = np.stack(cols, axis=1)
    return Series("macro", values, time, ("unemp", "infl", "gdp_growth"), "quarterly", 4, False,
                  np.zeros(len(time), dtype=bool), "%",
                  "US macrodata 1959Q2-2009Q3: unemployment (target), inflation, GDP growth (none missing; "
                  "seasonally adjusted, so period 4 is not a real season)")


SERIES: dict[str, Callable[[], Series]] = {
    "co2": lambda: co2("monthly", missing="interpolate"),
    "sunspots": sunspots,
    "nile": nile,
    "macro": macrodata,
    "elnino": elnino,
}


def load_series(name: str) -> Series:
    """One of the course's series by name (``co2`` is the monthly one, its 5 missing months filled
    by linear interpolation and marked in ``filled``)."""
    if name not in SERIES:
        raise KeyError(f"no series {name!r}; known: {', '.join(SERIES)}")
    return SERIES[name]()
