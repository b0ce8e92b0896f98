"""Time series (lecture 9): linear dynamical and autoregressive models, the Kalman filter, simple
baselines, forecast errors and honest (rolling-origin) evaluation.

Notation as on the slides (Hyndman's): the **linear dynamical model** has an appearance model and a
state model,

    y_t = C x_t + u_t,        u_t ~ N(0, R)          (what we observe)
    x_t = A x_{t-1} + W v_t,  v_t ~ N(0, I)          (how the hidden state moves; Q = W W^T)

and the **autoregressive model of order d**, ``x_t = c + A_1 x_{t-1} + ... + A_d x_{t-d} + W v_t``,
is the special case whose state is the last ``d`` values (its ``A`` is the companion matrix).

Conventions: numpy float64 arrays; a series is ``(T,)`` (one variable) or ``(T, k)`` (``k``
variables; for an AR model of several variables -- a VAR -- the ``A_i`` are ``(k, k)`` matrices).
A forecast made at *origin* ``o`` uses the observations ``0 .. o-1`` and predicts ``o .. o+h-1``.
The RNN forecasters are in :mod:`course_lib.models.forecasters`; the comparison that puts every
method through the same rolling-origin evaluation is :func:`rolling_comparison`.
"""
from __future__ import annotations

import time as _time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "lag_matrix", "ARFit", "fit_ar", "select_ar_order", "companion_matrix", "spectral_radius", "ar_forecast",
    "run_lds", "simulate_lds", "KalmanStep", "KalmanResult", "kalman_step", "kalman_filter",
    "naive_forecast", "seasonal_naive", "mase_terms", "mase", "smape_terms", "smape",
    "rolling_origins", "rolling_origin_splits", "make_windows", "Scaler",
    "SeriesSetup", "SETUPS", "MethodResult", "combine", "rolling_comparison", "baseline_forecasters",
    "naive_forecaster", "ets_forecaster", "ar_forecaster",
    "results_table", "M4_FINDINGS", "plot_forecasts", "plot_comparison",
]


def _as_series(x: Any, name: str = "x", allow_nan: bool = False) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be a series of shape (T,) or (T, k), got shape {a.shape}")
    if not allow_nan and np.isnan(a).any():
        raise ValueError(f"{name} has {int(np.isnan(a).sum())} NaN values: fill or drop them first "
                         "(course_lib.data.series.fill_missing)")
    return a


def _check_positive_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}")
    return int(v)


# --- autoregressive models ------------------------------------------------------------------

def lag_matrix(x: Any, d: int) -> tuple[np.ndarray, np.ndarray]:
    """The design matrix of an AR(d) regression.

    Args:
        x: the series, ``(T,)`` or ``(T, k)``.
        d: the order (number of lags), ``1 <= d < T``.

    Returns:
        ``(X, y)``: row ``i`` of ``X`` holds the ``d`` values before ``y[i] = x[d + i]``, most recent
        first -- ``[x_{t-1}, x_{t-2}, ..., x_{t-d}]`` (for ``(T, k)``: the ``k`` values of lag 1, then
        of lag 2, ...). ``X: (T - d, d)`` or ``(T - d, d * k)``; ``y: (T - d,)`` or ``(T - d, k)``.
    """
    a = _as_series(x)
    d = _check_positive_int("d", d)
    if a.shape[0] <= d:
        raise ValueError(f"lag_matrix needs more than d = {d} values, got {a.shape[0]}")
    T = a.shape[0]
    cols = [a[d - j: T - j] for j in range(1, d + 1)]           # lag j: x_{t-j} for t = d .. T-1
    X = np.stack(cols, axis=1) if a.ndim == 1 else np.concatenate(cols, axis=1)
    return X, a[d:].copy()


@dataclass(frozen=True)
class ARFit:
    """An AR(d) model ``x_t = intercept + sum_i coefs[i-1] x_{t-i} + noise``.

    Attributes:
        intercept: float (one variable) or ``(k,)``.
        coefs: ``(d,)`` -- ``A_1 .. A_d`` as numbers -- or ``(d, k, k)`` matrices (a VAR).
        sigma2: the residual variance (``SSR / n``, as ``AutoReg``), or the ``(k, k)`` residual
            covariance (divided by ``n``).
        nobs: the number of regression rows, ``T - d``.
    """

    intercept: Any
    coefs: np.ndarray
    sigma2: Any
    nobs: int

    @property
    def order(self) -> int:
        return int(self.coefs.shape[0])

    @property
    def k(self) -> int:
        return 1 if self.coefs.ndim == 1 else int(self.coefs.shape[1])


def fit_ar(x: Any, d: int, intercept: bool = True) -> ARFit:
    """Fit an AR(d) (or, for ``x: (T, k)``, a VAR(d)) by ordinary least squares on the lag matrix.

    The same estimate as ``statsmodels``' ``AutoReg(x, d, trend="c")`` (params ``[const, L1..Ld]``)
    and ``VAR(x).fit(d)``; ``intercept=False`` is ``trend="n"``.
    """
    X, y = lag_matrix(x, d)
    design = np.column_stack([np.ones(len(X)), X]) if intercept else X
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)              # (1 + d*k,) or (1 + d*k, k)
    resid = y - design @ beta
    n = len(y)
    rest = beta[1:] if intercept else beta
    if y.ndim == 1:
        c = float(beta[0]) if intercept else 0.0
        return ARFit(c, rest.copy(), float(resid @ resid / n), n)
    k = y.shape[1]
    c_vec = beta[0].copy() if intercept else np.zeros(k)
    coefs = rest.reshape(d, k, k).transpose(0, 2, 1).copy()       # A_i[j, l]: effect of x_{t-i, l} on x_{t, j}
    return ARFit(c_vec, coefs, resid.T @ resid / n, n)


def select_ar_order(x: Any, max_d: int, criterion: str = "aic") -> int:
    """The AR order in ``1 .. max_d`` with the lowest AIC (or BIC), all fitted on the same rows
    (the first ``max_d`` values are only used as lags), so the criteria are comparable."""
    a = _as_series(x)
    max_d = _check_positive_int("max_d", max_d)
    if criterion not in ("aic", "bic"):
        raise ValueError(f"criterion must be 'aic' or 'bic', got {criterion!r}")
    best, best_score = 1, np.inf
    for d in range(1, max_d + 1):
        fit = fit_ar(a[max_d - d:], d)
        n, k = fit.nobs, fit.k
        logdet = np.log(fit.sigma2) if k == 1 else np.linalg.slogdet(fit.sigma2)[1]
        n_params = k * (d * k + 1)
        penalty = 2 * n_params if criterion == "aic" else np.log(n) * n_params
        score = n * logdet + penalty
        if score < best_score:
            best, best_score = d, score
    return best


def companion_matrix(coefs: Any) -> np.ndarray:
    """The ``A`` of an AR(d) written as a first-order linear dynamical model.

    The state is the last ``d`` values ``s_t = [x_t, x_{t-1}, ..., x_{t-d+1}]``; then
    ``s_t = A s_{t-1} + (noise in the first block)``: the first block row holds ``A_1 .. A_d``, the
    blocks below shift the state down by one lag.

    Args:
        coefs: ``(d,)`` or ``(d, k, k)``.

    Returns:
        ``(d, d)`` or ``(d * k, d * k)``. The AR is stable (stationary) iff every eigenvalue has
        ``|lambda| < 1``.
    """
    c = np.asarray(coefs, dtype=np.float64)
    if c.ndim == 1:
        c = c[:, None, None]
    if c.ndim != 3 or c.shape[1] != c.shape[2] or c.shape[0] < 1:
        raise ValueError(f"coefs must be (d,) or (d, k, k), got shape {np.shape(coefs)}")
    d, k, _ = c.shape
    A = np.zeros((d * k, d * k))
    A[:k, :] = np.concatenate(list(c), axis=1)
    A[k:, :-k] = np.eye((d - 1) * k)
    return A


def spectral_radius(matrix: Any) -> float:
    """The largest ``|eigenvalue|`` of a square matrix (< 1: powers of it die out)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"spectral_radius expects a square matrix, got shape {m.shape}")
    return float(np.abs(np.linalg.eigvals(m)).max())


def ar_forecast(history: Any, fit: ARFit, h: int) -> np.ndarray:
    """Recursive h-step forecast: predict one step, append the prediction to the history as if it
    had been observed, predict the next -- so step ``j`` uses ``j - 1`` predicted values.

    Args:
        history: ``(T,)`` or ``(T, k)`` with ``T >= fit.order``.
        fit: an :class:`ARFit`.
        h: the horizon.

    Returns:
        ``(h,)`` or ``(h, k)``.
    """
    a = _as_series(history, "history")
    h = _check_positive_int("h", h)
    d = fit.order
    if a.shape[0] < d:
        raise ValueError(f"an AR({d}) forecast needs at least {d} past values, got {a.shape[0]}")
    if (a.ndim == 2) != (fit.coefs.ndim == 3) or (a.ndim == 2 and a.shape[1] != fit.k):
        raise ValueError(f"history of shape {a.shape} does not match an AR fitted on {fit.k} variable(s)")
    window = list(a[-d:][::-1])                                       # most recent first
    out = []
    for _ in range(h):
        if a.ndim == 1:
            nxt = fit.intercept + float(np.dot(fit.coefs, window))
        else:
            nxt = fit.intercept + sum(A_i @ w for A_i, w in zip(fit.coefs, window))
        out.append(nxt)
        window = [nxt] + window[:-1]
    return np.array(out)


# --- the linear dynamical model ---------------------------------------------------------------

def run_lds(A: Any, C: Any, W: Any, x0: Any, v: Any, u: Any) -> tuple[np.ndarray, np.ndarray]:
    """Run ``x_t = A x_{t-1} + W v_t``, ``y_t = C x_t + u_t`` for ``t = 1 .. T`` with given noise.

    Args:
        A: ``(n, n)``; C: ``(p, n)``; W: ``(n, q)``; x0: ``(n,)``.
        v: ``(T, q)`` state noise; u: ``(T, p)`` observation noise.

    Returns:
        ``(x, y)``: states ``(T, n)`` (``x_1 .. x_T``) and observations ``(T, p)``.
    """
    A, C, W = (np.atleast_2d(np.asarray(m, dtype=np.float64)) for m in (A, C, W))
    x = np.asarray(x0, dtype=np.float64).reshape(-1)
    v, u = np.asarray(v, dtype=np.float64), np.asarray(u, dtype=np.float64)
    n = A.shape[0]
    if A.shape != (n, n) or C.shape[1] != n or W.shape[0] != n or x.shape != (n,):
        raise ValueError(f"shapes do not fit: A {A.shape}, C {C.shape}, W {W.shape}, x0 {x.shape} "
                         "(expected A (n, n), C (p, n), W (n, q), x0 (n,))")
    if v.ndim != 2 or v.shape[1] != W.shape[1] or u.shape != (v.shape[0], C.shape[0]):
        raise ValueError(f"noise shapes do not fit: v {v.shape} (expected (T, {W.shape[1]})), "
                         f"u {u.shape} (expected (T, {C.shape[0]}))")
    xs, ys = [], []
    for t in range(v.shape[0]):
        x = A @ x + W @ v[t]
        xs.append(x)
        ys.append(C @ x + u[t])
    return np.array(xs), np.array(ys)


def simulate_lds(A: Any, C: Any, W: Any, R: Any, x0: Any, steps: int, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Simulate the linear dynamical model with ``v_t ~ N(0, I)`` and ``u_t ~ N(0, R)``.

    Returns:
        ``(x, y)``: ``(steps, n)`` states and ``(steps, p)`` observations (see :func:`run_lds`).
    """
    steps = _check_positive_int("steps", steps)
    C, W, R = (np.atleast_2d(np.asarray(m, dtype=np.float64)) for m in (C, W, R))
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((steps, W.shape[1]))
    u = rng.multivariate_normal(np.zeros(C.shape[0]), R, size=steps)
    return run_lds(A, C, W, x0, v, u)


class KalmanStep(NamedTuple):
    """One step of the Kalman filter: from the filtered state at ``t-1`` to the filtered state at ``t``.

    ``m_pred, P_pred``: ``x_t`` given ``y_1..y_{t-1}`` (``(n,)``, ``(n, n)``); ``y_pred, F``: the
    one-step prediction of ``y_t`` and its covariance (``(p,)``, ``(p, p)``); ``m, P``: ``x_t`` given
    ``y_1..y_t``.
    """

    m_pred: np.ndarray
    P_pred: np.ndarray
    y_pred: np.ndarray
    F: np.ndarray
    m: np.ndarray
    P: np.ndarray


def _kf_matrices(A: Any, C: Any, Q: Any, R: Any) -> tuple[np.ndarray, ...]:
    A, C, Q, R = (np.atleast_2d(np.asarray(m, dtype=np.float64)) for m in (A, C, Q, R))
    n, p = A.shape[0], C.shape[0]
    if A.shape != (n, n) or C.shape != (p, n) or Q.shape != (n, n) or R.shape != (p, p):
        raise ValueError(f"shapes do not fit: A {A.shape}, C {C.shape}, Q {Q.shape}, R {R.shape} "
                         "(expected A (n, n), C (p, n), Q (n, n), R (p, p))")
    return A, C, Q, R


def _kf_update(m: np.ndarray, P: np.ndarray, y: np.ndarray, C: np.ndarray, R: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    y_pred = C @ m
    F = C @ P @ C.T + R
    if np.isnan(y).any():                     # a missing observation: nothing to learn from
        return y_pred, F, m.copy(), P.copy()
    K = np.linalg.solve(F, C @ P).T           # the Kalman gain P C^T F^{-1} (F and P symmetric)
    m_new = m + K @ (y - y_pred)
    P_new = P - K @ F @ K.T
    return y_pred, F, m_new, (P_new + P_new.T) / 2


def kalman_step(m: Any, P: Any, y: Any, A: Any, C: Any, Q: Any, R: Any) -> KalmanStep:
    """Predict ``x_t`` from the filtered ``(m, P)`` of ``x_{t-1}``, then correct it with ``y_t``.

    predict:  ``m_pred = A m``,  ``P_pred = A P A^T + Q``;  ``y_pred = C m_pred``,  ``F = C P_pred C^T + R``
    update:   ``K = P_pred C^T F^{-1}``,  ``m_t = m_pred + K (y_t - y_pred)``,  ``P_t = P_pred - K F K^T``

    Args:
        m: ``(n,)``; P: ``(n, n)``; y: ``(p,)`` (all NaN: missing, the update is skipped).
        A: ``(n, n)``; C: ``(p, n)``; Q: ``(n, n)`` (``= W W^T``); R: ``(p, p)``.
    """
    A, C, Q, R = _kf_matrices(A, C, Q, R)
    m = np.asarray(m, dtype=np.float64).reshape(-1)
    P = np.atleast_2d(np.asarray(P, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if m.shape != (A.shape[0],) or P.shape != A.shape or y.shape != (C.shape[0],):
        raise ValueError(f"m {m.shape}, P {P.shape}, y {y.shape} do not fit A {A.shape}, C {C.shape}")
    m_pred, P_pred = A @ m, A @ P @ A.T + Q
    y_pred, F, m_new, P_new = _kf_update(m_pred, P_pred, y, C, R)
    return KalmanStep(m_pred, P_pred, y_pred, F, m_new, P_new)


@dataclass(frozen=True)
class KalmanResult:
    """The Kalman filter run over a whole series (``T`` observations, state size ``n``, ``p`` outputs).

    Attributes:
        predicted_state, predicted_cov: ``x_t`` given ``y_1..y_{t-1}``: ``(T, n)``, ``(T, n, n)``.
        filtered_state, filtered_cov: ``x_t`` given ``y_1..y_t``: ``(T, n)``, ``(T, n, n)``.
        forecasts, forecast_cov: one-step predictions ``C x_{t|t-1}`` of ``y_t``: ``(T, p)``, ``(T, p, p)``.
        innovations: ``y_t - forecasts`` ``(T, p)`` (NaN where ``y_t`` is missing).
        loglik: the Gaussian log-likelihood of the observed ``y`` (sum of one-step predictive densities).
    """

    predicted_state: np.ndarray
    predicted_cov: np.ndarray
    filtered_state: np.ndarray
    filtered_cov: np.ndarray
    forecasts: np.ndarray
    forecast_cov: np.ndarray
    innovations: np.ndarray
    loglik: float


def kalman_filter(y: Any, A: Any, C: Any, Q: Any, R: Any, m1: Any, P1: Any) -> KalmanResult:
    """Filter a series with the linear dynamical model (Kalman 1960).

    Args:
        y: ``(T,)`` or ``(T, p)`` observations; NaN rows are missing (predicted, never used).
        A, C, Q, R: as in :func:`kalman_step`.
        m1, P1: the mean ``(n,)`` and covariance ``(n, n)`` of ``x_1`` before any observation
            (``statsmodels``: ``initialize_known(m1, P1)``).
    """
    A, C, Q, R = _kf_matrices(A, C, Q, R)
    obs = np.asarray(y, dtype=np.float64)
    obs = obs[:, None] if obs.ndim == 1 else obs
    if obs.ndim != 2 or obs.shape[1] != C.shape[0]:
        raise ValueError(f"y must be (T,) or (T, p) with p = {C.shape[0]}, got shape {np.shape(y)}")
    m = np.asarray(m1, dtype=np.float64).reshape(-1)
    P = np.atleast_2d(np.asarray(P1, dtype=np.float64))
    if m.shape != (A.shape[0],) or P.shape != A.shape:
        raise ValueError(f"m1 {m.shape} and P1 {P.shape} must be ({A.shape[0]},) and {A.shape}")
    out: dict[str, list] = {k: [] for k in ("mp", "Pp", "mf", "Pf", "f", "F", "e")}
    loglik = 0.0
    for t in range(obs.shape[0]):
        if t > 0:
            m, P = A @ m, A @ P @ A.T + Q
        y_pred, F, m_f, P_f = _kf_update(m, P, obs[t], C, R)
        e = obs[t] - y_pred
        if not np.isnan(obs[t]).any():
            _, logdet = np.linalg.slogdet(F)
            loglik += -0.5 * (len(e) * np.log(2 * np.pi) + logdet + e @ np.linalg.solve(F, e))
        for key, val in zip(out, (m, P, m_f, P_f, y_pred, F, e)):
            out[key].append(val)
        m, P = m_f, P_f
    a = {k: np.array(v) for k, v in out.items()}
    return KalmanResult(a["mp"], a["Pp"], a["mf"], a["Pf"], a["f"], a["F"], a["e"], float(loglik))


# --- baselines and forecast errors ----------------------------------------------------------------

def naive_forecast(history: Any, h: int) -> np.ndarray:
    """The last value, repeated: ``(h,)`` (or ``(h, k)``)."""
    a = _as_series(history, "history")
    h = _check_positive_int("h", h)
    if a.shape[0] < 1:
        raise ValueError("a naive forecast needs at least one past value")
    return np.repeat(a[-1:], h, axis=0)


def seasonal_naive(history: Any, m: int, h: int) -> np.ndarray:
    """The last full season, repeated: the forecast of step ``j`` (0-based) is ``history[T - m + j % m]``.

    ``m = 1`` is the naive forecast. Returns ``(h,)`` (or ``(h, k)``).
    """
    a = _as_series(history, "history")
    m, h = _check_positive_int("m", m), _check_positive_int("h", h)
    if a.shape[0] < m:
        raise ValueError(f"a seasonal naive forecast with period m = {m} needs at least {m} past values, "
                         f"got {a.shape[0]}")
    T = a.shape[0]
    return a[T - m + np.arange(h) % m].copy()


def _mase_scale(y_train: np.ndarray, m: int) -> float:
    if y_train.ndim != 1 or y_train.shape[0] <= m:
        raise ValueError(f"MASE's scale needs a (T,) training series longer than m = {m}, got shape {y_train.shape}")
    scale = float(np.mean(np.abs(y_train[m:] - y_train[:-m])))
    if scale == 0.0:
        raise ValueError("MASE is undefined: the training series does not change "
                         f"(its in-sample {'seasonal ' if m > 1 else ''}naive error is 0)")
    return scale


def mase_terms(y_true: Any, y_pred: Any, y_train: Any, m: int = 1) -> np.ndarray:
    """``|y_true - y_pred|`` divided by the mean absolute error of the (seasonal, lag ``m``) naive
    forecast *in the training data* (Hyndman and Koehler 2006): ``(h,)``. A value below 1 is a smaller
    error than the naive method makes one step ahead in-sample.

    Raises:
        ValueError: if the training series is constant (the scale is 0) or too short.
    """
    yt, yp = _as_series(y_true, "y_true"), _as_series(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true {yt.shape} and y_pred {yp.shape} must have the same shape")
    scale = _mase_scale(_as_series(y_train, "y_train"), _check_positive_int("m", m))
    return np.abs(yt - yp) / scale


def mase(y_true: Any, y_pred: Any, y_train: Any, m: int = 1) -> float:
    """The mean absolute scaled error of one forecast (the mean of :func:`mase_terms`)."""
    return float(np.mean(mase_terms(y_true, y_pred, y_train, m)))


def smape_terms(y_true: Any, y_pred: Any) -> np.ndarray:
    """``200 |y - y_hat| / (|y| + |y_hat|)`` per step (percent, 0 to 200); 0 where both are 0: ``(h,)``."""
    yt, yp = _as_series(y_true, "y_true"), _as_series(y_pred, "y_pred")
    if yt.shape != yp.shape:
        raise ValueError(f"y_true {yt.shape} and y_pred {yp.shape} must have the same shape")
    denom = np.abs(yt) + np.abs(yp)
    safe = np.where(denom == 0, 1.0, denom)
    return np.where(denom == 0, 0.0, 200.0 * np.abs(yt - yp) / safe)


def smape(y_true: Any, y_pred: Any) -> float:
    """The symmetric mean absolute percentage error of one forecast, as in M4 (percent)."""
    return float(np.mean(smape_terms(y_true, y_pred)))


# --- rolling-origin evaluation ----------------------------------------------------------------------

def rolling_origins(n: int, first: int, horizon: int, step: int = 1) -> list[int]:
    """Forecast origins ``first, first + step, ...`` for a series of length ``n``: at origin ``o`` the
    model may use ``0 .. o-1`` and is scored on ``o .. o + horizon - 1`` (so ``o + horizon <= n``)."""
    n, first, horizon, step = (_check_positive_int(k, v) for k, v in
                               (("n", n), ("first", first), ("horizon", horizon), ("step", step)))
    if first + horizon > n:
        raise ValueError(f"no origin fits: first ({first}) + horizon ({horizon}) > n ({n})")
    return list(range(first, n - horizon + 1, step))


def rolling_origin_splits(n: int, first: int, horizon: int, step: int = 1
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The same origins as index arrays ``(train, test)``: ``train = 0 .. o-1``, ``test = o .. o+horizon-1``.
    Every training index comes before every test index of its split: nothing leaks from the future."""
    return [(np.arange(o), np.arange(o, o + horizon)) for o in rolling_origins(n, first, horizon, step)]


def make_windows(values: Any, window: int, horizon: int, end: int, target: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Every (input window, future) pair whose future lies before ``end``, for training a forecaster.

    Args:
        values: ``(T,)`` or ``(T, k)``.
        window: input length ``L``; horizon: ``H`` future values of column ``target``.
        end: only ``values[:end]`` is used (the training part) -- nothing after it can leak in.

    Returns:
        ``(X, Y)``: ``X: (N, L, k)`` (``k = 1`` for a ``(T,)`` series) and ``Y: (N, H)``, where window
        ``i`` is ``values[i : i + L]`` and its future ``values[i + L : i + L + H, target]``;
        ``N = end - L - H + 1``.
    """
    a = _as_series(values, "values")
    a = a[:, None] if a.ndim == 1 else a
    window, horizon = _check_positive_int("window", window), _check_positive_int("horizon", horizon)
    if not 0 < end <= a.shape[0]:
        raise ValueError(f"end must be in 1 .. {a.shape[0]}, got {end}")
    n = end - window - horizon + 1
    if n < 1:
        raise ValueError(f"no window fits: end ({end}) < window ({window}) + horizon ({horizon})")
    idx = np.arange(n)[:, None]
    X = a[idx + np.arange(window)]                                     # (N, L, k)
    Y = a[idx + window + np.arange(horizon), target]                   # (N, H)
    return X, Y


@dataclass(frozen=True)
class Scaler:
    """Scaling for a neural forecaster, **fitted on the training part only**.

    ``center="mean"``: subtract the training mean of each variable and divide by its standard
    deviation (for series without a trend). ``center="last"``: subtract, in every window, the last
    input value of each variable (the forecaster predicts changes from "now"), and divide by the
    root-mean-square one-step change of the training series -- a trending series then never leaves
    the range the network was trained on.

    Attributes:
        center: ``"mean"`` or ``"last"``.
        mean: ``(k,)`` training means (zeros for ``"last"``).
        scale: ``(k,)``.
        target: the column that is forecast.
    """

    center: str
    mean: np.ndarray
    scale: np.ndarray
    target: int = 0

    @classmethod
    def fit(cls, train: Any, center: str = "mean", target: int = 0) -> Scaler:
        """Fit on ``train: (T,)`` or ``(T, k)`` -- pass only the training part."""
        a = _as_series(train, "train")
        a = a[:, None] if a.ndim == 1 else a
        if center not in ("mean", "last"):
            raise ValueError(f"center must be 'mean' or 'last', got {center!r}")
        if center == "mean":
            mean, scale = a.mean(0), a.std(0)
        else:
            mean, scale = np.zeros(a.shape[1]), np.sqrt(np.mean(np.diff(a, axis=0) ** 2, axis=0))
        if (scale == 0).any():
            raise ValueError("a training variable is constant: it cannot be scaled")
        return cls(center, mean, scale, target)

    def _offset(self, X: np.ndarray) -> np.ndarray:
        return X[:, -1, :] if self.center == "last" else np.broadcast_to(self.mean, (X.shape[0], X.shape[2]))

    def inputs(self, X: Any) -> np.ndarray:
        """Scale input windows ``X: (N, L, k)``."""
        X = np.asarray(X, dtype=np.float64)
        return (X - self._offset(X)[:, None, :]) / self.scale

    def targets(self, Y: Any, X: Any) -> np.ndarray:
        """Scale futures ``Y: (N, H)`` of the windows ``X``."""
        off = self._offset(np.asarray(X, dtype=np.float64))[:, self.target]
        return (np.asarray(Y, dtype=np.float64) - off[:, None]) / self.scale[self.target]

    def unscale(self, Y_scaled: Any, X: Any) -> np.ndarray:
        """Back to the series' units: the inverse of :meth:`targets`."""
        off = self._offset(np.asarray(X, dtype=np.float64))[:, self.target]
        return np.asarray(Y_scaled, dtype=np.float64) * self.scale[self.target] + off[:, None]


# --- the comparison ------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeriesSetup:
    """How one series is evaluated (fixed before looking at the test part).

    Attributes:
        horizon: forecast steps ``H``.
        test: the last ``test`` values are the test part; the first origin is ``T - test``, origins
            run every ``step`` until the last full horizon.
        window: the RNN's input length ``L``.
        max_ar_order: AR(d) picks ``d <= max_ar_order`` by AIC on the training part.
        center: the RNN's scaling (:class:`Scaler`).
        ets: the components of the ETS model (``statsmodels`` ``ETSModel`` keywords).
    """

    horizon: int
    test: int
    window: int
    max_ar_order: int
    center: str
    ets: dict[str, Any] = field(default_factory=dict)
    step: int = 1


SETUPS: dict[str, SeriesSetup] = {
    "co2": SeriesSetup(horizon=12, test=120, window=36, max_ar_order=26, center="last",
                       ets={"trend": "add", "seasonal": "add", "seasonal_periods": 12}),
    "sunspots": SeriesSetup(horizon=10, test=60, window=30, max_ar_order=12, center="mean", ets={}),
    "nile": SeriesSetup(horizon=5, test=25, window=10, max_ar_order=5, center="mean", ets={}),
    "macro": SeriesSetup(horizon=8, test=48, window=16, max_ar_order=8, center="mean",
                         ets={"trend": "add", "damped_trend": True}),
    "elnino": SeriesSetup(horizon=12, test=180, window=36, max_ar_order=26, center="mean",
                          ets={"seasonal": "add", "seasonal_periods": 12}),
}

# The five headline findings of the M4 competition (100 000 series), in our words, from the abstract of
# Makridakis, Spiliotis and Assimakopoulos (2018), "The M4 Competition: Results, findings, conclusion
# and way forward", International Journal of Forecasting 34(4), 802-808.
M4_FINDINGS = (
    "12 of the 17 most accurate methods were combinations of (mostly statistical) methods",
    "the winner was a hybrid of statistics and machine learning (Smyl: exponential smoothing + an LSTM-type "
    "RNN), its sMAPE about 10% better than the combination benchmark",
    "second came a combination of seven statistical methods and one ML method, weighted by an ML model",
    "the two best methods also got their 95% prediction intervals remarkably right",
    "the six pure ML methods did poorly: none beat the combination benchmark, only one beat Naive2",
)


@dataclass
class MethodResult:
    """A method's rolling-origin forecasts on one series.

    Attributes:
        forecasts: ``(n_origins, H)``; actual: ``(n_origins, H)``; origins: the ``n_origins`` origins.
        scales: ``(n_origins,)`` the MASE scale at each origin (from the data before it).
        mase_h, smape_h: ``(H,)`` MASE and sMAPE per horizon, averaged over the origins.
        fit_seconds: time to fit (once, on the part before the first origin); forecast_seconds:
            time for all the forecasts.
        note: the model chosen (e.g. ``"AR(9)"``).
    """

    forecasts: np.ndarray
    actual: np.ndarray
    origins: list[int]
    scales: np.ndarray
    mase_h: np.ndarray
    smape_h: np.ndarray
    fit_seconds: float
    forecast_seconds: float
    note: str = ""

    @property
    def mase(self) -> float:
        return float(self.mase_h.mean())

    @property
    def smape(self) -> float:
        return float(self.smape_h.mean())

    @classmethod
    def score(cls, forecasts: np.ndarray, actual: np.ndarray, origins: list[int], scales: np.ndarray,
              fit_seconds: float = 0.0, forecast_seconds: float = 0.0, note: str = "") -> MethodResult:
        """Compute MASE and sMAPE per horizon from ``forecasts`` and ``actual`` (both ``(n_origins, H)``)."""
        if forecasts.shape != actual.shape:
            raise ValueError(f"forecasts of shape {forecasts.shape}, expected {actual.shape}")
        mase_h = (np.abs(forecasts - actual) / scales[:, None]).mean(0)
        smape_h = np.stack([smape_terms(a, f) for a, f in zip(actual, forecasts)]).mean(0)
        return cls(forecasts, actual, origins, scales, mase_h, smape_h, fit_seconds, forecast_seconds, note)


def combine(results: dict[str, MethodResult], names: list[str], note: str = "") -> MethodResult:
    """The mean of several methods' forecasts (a forecast combination), scored like the others."""
    if not names or any(n not in results for n in names):
        raise KeyError(f"combine needs methods among {sorted(results)}, got {names}")
    first = results[names[0]]
    fc = np.mean([results[n].forecasts for n in names], axis=0)
    return MethodResult.score(fc, first.actual, first.origins, first.scales,
                              sum(results[n].fit_seconds for n in names),
                              sum(results[n].forecast_seconds for n in names), note or " + ".join(names))


# A forecaster is built from the training part: ``build(train) -> (predict, note)`` with
# ``predict(history, h) -> (h,)`` the forecast of the target made from ``history`` (everything up
# to an origin). Parameters are estimated once, on the training part; at each origin the forecast
# conditions on all data up to that origin (a "fixed-parameter" rolling origin: the same for every method).
Forecaster = Callable[[np.ndarray], tuple[Callable[[np.ndarray, int], np.ndarray], str]]


def ar_forecaster(max_order: int) -> Forecaster:
    """AR(d) fitted by least squares, ``d`` chosen by AIC on the training part; a ``(T, k)`` series
    gets a VAR(d) on all its variables (the target is column 0)."""
    def build(train: np.ndarray) -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
        d = select_ar_order(train, max_order)
        fit = fit_ar(train, d)

        def predict(history: np.ndarray, h: int) -> np.ndarray:
            f = ar_forecast(history, fit, h)
            return f if f.ndim == 1 else f[:, 0]
        return predict, f"{'VAR' if fit.k > 1 else 'AR'}({d})"
    return build


def ets_forecaster(**components: Any) -> Forecaster:
    """statsmodels' ``ETSModel`` (additive errors), fitted by maximum likelihood on the training part;
    at each origin the fitted parameters are run over the history (``smooth``) and forecast."""
    def build(train: np.ndarray) -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        y = train if train.ndim == 1 else train[:, 0]

        def model(series: np.ndarray) -> Any:
            return ETSModel(series, error="add", **components)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = model(y).fit(disp=False, maxiter=2000).params

        def predict(history: np.ndarray, h: int) -> np.ndarray:
            hist = history if history.ndim == 1 else history[:, 0]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return np.asarray(model(hist).smooth(params).forecast(h))
        name = "ETS(A,{}{},{})".format({"add": "A", None: "N"}[components.get("trend")],
                                        "d" if components.get("damped_trend") else "",
                                        {"add": "A", None: "N"}[components.get("seasonal")])
        return predict, name
    return build


def naive_forecaster(m: int = 1) -> Forecaster:
    """The seasonal naive forecast with period ``m`` (``m = 1``: the naive forecast); nothing to fit."""
    def build(train: np.ndarray) -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
        def predict(history: np.ndarray, h: int) -> np.ndarray:
            y = history if history.ndim == 1 else history[:, 0]
            return seasonal_naive(y, m, h)
        return predict, "naive" if m == 1 else f"seasonal naive (m = {m})"
    return build


def baseline_forecasters(series: Any, setup: SeriesSetup) -> dict[str, Forecaster]:
    """Naive, seasonal naive (``series.period``), AR(d) (VAR(d) for several variables) and ETS."""
    return {"naive": naive_forecaster(1), "seasonal naive": naive_forecaster(series.period),
            "AR(d)": ar_forecaster(setup.max_ar_order), "ETS": ets_forecaster(**setup.ets)}


def rolling_comparison(series: Any, setup: SeriesSetup, forecasters: dict[str, Forecaster] | None = None
                       ) -> dict[str, MethodResult]:
    """Evaluate forecasters on one series with the same rolling origins, MASE and sMAPE per horizon.

    Args:
        series: a :class:`course_lib.data.series.Series`.
        setup: its :class:`SeriesSetup`.
        forecasters: name -> builder (default: :func:`baseline_forecasters`); RNNs come from
            :func:`course_lib.models.forecasters.rnn_forecaster`.

    Returns:
        name -> :class:`MethodResult`. The MASE scale of each origin uses only the data before it.
    """
    values = np.asarray(series.values, dtype=np.float64)
    target = series.target
    n = len(values)
    first = n - setup.test
    origins = rolling_origins(n, first, setup.horizon, setup.step)
    if forecasters is None:
        forecasters = baseline_forecasters(series, setup)
    actual = np.stack([target[o:o + setup.horizon] for o in origins])
    scales = np.array([_mase_scale(target[:o], series.mase_period) for o in origins])
    results = {}
    for name, build in forecasters.items():
        t0 = _time.perf_counter()
        predict, note = build(values[:first])
        t1 = _time.perf_counter()
        fc = np.stack([np.asarray(predict(values[:o], setup.horizon), dtype=np.float64) for o in origins])
        t2 = _time.perf_counter()
        results[name] = MethodResult.score(fc, actual, origins, scales, t1 - t0, t2 - t1, note or name)
    return results


def results_table(results: dict[str, dict[str, MethodResult]], metric: str = "mase", times: bool = False
                  ) -> str:
    """A text table: one row per method, one column per series (``metric`` averaged over horizons and
    origins; the best of each column marked ``*``); with ``times``, the fit + forecast seconds."""
    series_names = list(results)
    methods: list[str] = []
    for res in results.values():
        methods += [k for k in res if k not in methods]
    width, col = max(len(m) for m in methods) + 2, 20 if times else 14
    head = f"{metric.upper():<{width}}" + "".join(f"{s:>{col}}" for s in series_names)
    lines = [head, "-" * len(head)]
    for meth in methods:
        cells = []
        for s in series_names:
            if meth not in results[s]:
                cells.append(f"{'-':>{col}}")
                continue
            r = results[s][meth]
            val = getattr(r, metric)
            best = min(getattr(x, metric) for x in results[s].values())
            txt = f"{val:.3f}{'*' if val == best else ' '}"
            if times:
                txt += f" {r.fit_seconds + r.forecast_seconds:5.1f}s"
            cells.append(f"{txt:>{col}}")
        lines.append(f"{meth:<{width}}" + "".join(cells))
    return "\n".join(lines)



# --- plots ---------------------------------------------------------------------------------------

def plot_forecasts(ax: Any, time: Any, y: Any, origin: int, forecasts: dict[str, Any], history: int | None = None,
                   title: str = "") -> Any:
    """Draw ``y`` around one origin and each forecast made there (``name -> (h,)``); returns ``ax``."""
    time, y = np.asarray(time), np.asarray(y)
    h = max(len(np.asarray(f)) for f in forecasts.values())
    start = 0 if history is None else max(0, origin - history)
    stop = min(len(y), origin + h)
    ax.plot(time[start:stop], y[start:stop], color="black", lw=1.2, label="observed")
    ax.axvline(time[origin] - (time[1] - time[0]) / 2, color="grey", ls=":", lw=1)
    for name, f in forecasts.items():
        f = np.asarray(f)[: len(time) - origin]             # a forecast past the end of the data is cut
        ax.plot(time[origin:origin + len(f)], f, lw=1.6, label=name)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def plot_comparison(results: dict[str, dict[str, MethodResult]], methods: list[str] | None = None,
                    axes: Any = None) -> Any:
    """MASE (top row) and sMAPE (bottom row) against the horizon, one column per series; returns the axes."""
    import matplotlib.pyplot as plt

    names = list(results)
    if axes is None:
        _, axes = plt.subplots(2, len(names), figsize=(3.6 * len(names), 6.2), squeeze=False)
    styles = {"naive": ("grey", ":"), "seasonal naive": ("grey", "--"), "AR(d)": ("tab:blue", "-"),
              "ETS": ("tab:orange", "-"), "RNN": ("tab:green", "-"), "GRU": ("tab:red", "-"),
              "LSTM": ("tab:purple", "-")}
    for j, name in enumerate(names):
        for meth, r in results[name].items():
            if methods is not None and meth not in methods:
                continue
            cell = meth.removesuffix(" (recursive)")
            color, ls = styles.get(meth, ("tab:brown", "-."))      # a combination
            if cell != meth and cell in styles:
                color, ls = styles[cell][0], "--"                 # a one-step network run recursively
            hs = np.arange(1, len(r.mase_h) + 1)
            lw = 2.2 if meth in ("AR(d)", "ETS") else 1.4
            axes[0, j].plot(hs, r.mase_h, ls=ls, color=color, lw=lw, marker=".", label=meth)
            axes[1, j].plot(hs, r.smape_h, ls=ls, color=color, lw=lw, marker=".", label=meth)
        axes[0, j].set_title(name)
        axes[1, j].set_xlabel("horizon h")
        for ax in axes[:, j]:
            ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("MASE (lower is better)")
    axes[1, 0].set_ylabel("sMAPE, %")
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return axes
