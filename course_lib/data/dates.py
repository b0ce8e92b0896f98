"""Dates written out in many languages, to be normalised to ISO 8601 (``2024-03-07``).

The spellings come from the CLDR locale data that ships inside the ``babel`` package (nothing is
downloaded): ``"7. maaliskuuta 2024"`` (Finnish), ``"Donnerstag, 7. März 2024"`` (German),
``"March 7, 2024"`` (English), ``"2024. március 7."`` (Hungarian) all become ``"2024-03-07"``. The
order of day, month and year differs between languages, so reading the output off the input needs
a different alignment for each -- which attention maps show at a glance.

Only the unambiguous written-out formats are used (babel's ``"long"`` and ``"full"``, the latter
with the weekday); numeric short forms like ``3/7/24`` are left out because they mean different
dates in different countries. The split is by date: a date held out is held out in every language.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from course_lib.data.corpora import CorpusUnavailable

__all__ = ["DATE_LANGUAGES", "DATE_FORMATS", "DateExample", "render_date", "date_pairs"]

DATE_LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "sv", "fi", "pl", "hu", "tr")
DATE_FORMATS = ("long", "full")


@dataclass(frozen=True)
class DateExample:
    """One pair: ``source`` (the written-out date), ``target`` (ISO ``YYYY-MM-DD``), and where it came from."""

    source: str
    target: str
    language: str
    fmt: str


def render_date(date: dt.date, language: str, fmt: str = "long") -> str:
    """The date as ``language`` writes it (babel's ``format_date``).

    Args:
        date: a ``datetime.date``.
        language: a locale code such as ``"fi"`` or ``"de"``.
        fmt: ``"long"`` (``7. März 2024``) or ``"full"`` (with the weekday).

    Raises:
        CorpusUnavailable: naming the package if ``babel`` is not installed.
        ValueError: for an unknown format or locale.
    """
    try:
        from babel.core import UnknownLocaleError
        from babel.dates import format_date
    except ImportError as exc:
        raise CorpusUnavailable("the date spellings come from the 'babel' package, which is not installed: "
                                "pip install 'babel>=2.12'") from exc
    if fmt not in DATE_FORMATS:
        raise ValueError(f"fmt must be one of {DATE_FORMATS}, got {fmt!r}")
    try:
        return format_date(date, fmt, locale=language)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"babel has no locale {language!r}: use a code such as {DATE_LANGUAGES}") from exc


def date_pairs(n_dates: int, languages: tuple[str, ...] = DATE_LANGUAGES, formats: tuple[str, ...] = DATE_FORMATS,
               per_date: int = 1, seed: int = 0, first_year: int = 1950, last_year: int = 2049,
               fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[DateExample]]:
    """Random distinct dates, each written out in ``per_date`` random (language, format) pairs.

    Args:
        n_dates: how many distinct dates (all splits together).
        languages, formats: what to draw from.
        per_date: spellings per date (different languages when possible).
        seed: seed of the dates and of the spellings.
        first_year, last_year: the range of the dates (inclusive).
        fractions: share of the *dates* in train / val / test.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}`` lists of :class:`DateExample`.
    """
    if not isinstance(n_dates, int) or n_dates < 3:
        raise ValueError(f"n_dates must be an int >= 3, got {n_dates!r}")
    if not languages or not formats:
        raise ValueError("give at least one language and one format")
    if not isinstance(per_date, int) or per_date < 1:
        raise ValueError(f"per_date must be a positive int, got {per_date!r}")
    start, end = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    span = (end - start).days + 1
    if n_dates > span:
        raise ValueError(f"only {span} dates between {first_year} and {last_year}, asked for {n_dates}")
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    rng = random.Random(seed)
    offsets = rng.sample(range(span), n_dates)
    a = int(round(n_dates * fractions[0]))
    b = int(round(n_dates * (fractions[0] + fractions[1])))
    out: dict[str, list[DateExample]] = {}
    for name, part in (("train", offsets[:a]), ("val", offsets[a:b]), ("test", offsets[b:])):
        rows = []
        for off in part:
            date = start + dt.timedelta(days=off)
            langs = rng.sample(languages, min(per_date, len(languages)))
            langs += [rng.choice(languages) for _ in range(per_date - len(langs))]
            for lang in langs:
                fmt = rng.choice(formats)
                rows.append(DateExample(render_date(date, lang, fmt), date.isoformat(), lang, fmt))
        out[name] = rows
    return out
