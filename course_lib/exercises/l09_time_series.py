"""Exercises of lecture 9 (time series: linear dynamical and autoregressive models vs RNNs)."""
from __future__ import annotations

import numpy as np

from course_lib.check import compare
from course_lib.exercises import register


# --- 1. missing values -----------------------------------------------------------------------

def _solution_fill_gaps(values: np.ndarray) -> np.ndarray:
    """values: (T,) with NaN gaps -> (T,): each gap filled on the straight line between its observed
    neighbours (positions 0, 1, 2, ... are the times); a gap at an end takes the nearest observed value."""
    values = np.asarray(values, dtype=float)
    t = np.arange(len(values))
    seen = ~np.isnan(values)
    return np.interp(t, t[seen], values[seen])


def _wrong_forward_fill(values: np.ndarray) -> np.ndarray:
    """Carries the last observation forward (a step, not a line)."""
    out = np.asarray(values, dtype=float).copy()
    for i in range(1, len(out)):
        if np.isnan(out[i]):
            out[i] = out[i - 1]
    return out


def _wrong_zero_fill(values: np.ndarray) -> np.ndarray:
    """Fills every gap with 0 -- a silent, huge error on a series like CO2."""
    return np.nan_to_num(np.asarray(values, dtype=float))


@register("L9.fill_gaps", "fill missing values by linear interpolation",
          solution=_solution_fill_gaps, wrong=(_wrong_forward_fill, _wrong_zero_fill))
def _check_fill_gaps(fill_gaps) -> None:
    x = np.array([315.0, np.nan, np.nan, 318.0, 319.0, np.nan, 321.0])
    compare(fill_gaps(x), np.array([315.0, 316.0, 317.0, 318.0, 319.0, 320.0, 321.0]),
            name="two interior gaps")
    compare(fill_gaps(np.array([np.nan, 2.0, 4.0, np.nan])), np.array([2.0, 2.0, 4.0, 4.0]),
            name="gaps at both ends take the nearest value")


# --- 2. the linear dynamical model ---------------------------------------------------------------

def _solution_run_lds(A: np.ndarray, C: np.ndarray, W: np.ndarray, x0: np.ndarray, v: np.ndarray,
                      u: np.ndarray) -> np.ndarray:
    """A: (n, n), C: (p, n), W: (n, q), x0: (n,), v: (T, q), u: (T, p) -> y: (T, p) with
    x_t = A x_{t-1} + W v_t and y_t = C x_t + u_t for t = 1 .. T."""
    x, ys = np.asarray(x0, dtype=float), []
    for t in range(len(v)):
        x = A @ x + W @ v[t]
        ys.append(C @ x + u[t])
    return np.array(ys)


def _wrong_observe_before_moving(A, C, W, x0, v, u):
    """Observes x_{t-1} instead of x_t (the appearance model one step late)."""
    x, ys = np.asarray(x0, dtype=float), []
    for t in range(len(v)):
        ys.append(C @ x + u[t])
        x = A @ x + W @ v[t]
    return np.array(ys)


def _wrong_transposed(A, C, W, x0, v, u):
    """Uses A^T (row vectors on the wrong side)."""
    x, ys = np.asarray(x0, dtype=float), []
    for t in range(len(v)):
        x = x @ A + W @ v[t]
        ys.append(C @ x + u[t])
    return np.array(ys)


@register("L9.run_lds", "run the linear dynamical model with given noise",
          solution=_solution_run_lds, wrong=(_wrong_observe_before_moving, _wrong_transposed))
def _check_run_lds(run_lds) -> None:
    from course_lib.time_series import run_lds as reference

    A = np.array([[0.9, -0.3], [0.2, 0.8]])
    C = np.array([[1.0, 0.5]])
    W = np.array([[0.4], [0.1]])
    x0 = np.array([1.0, -1.0])
    v = np.array([[0.5], [-1.0], [0.0], [2.0]])
    u = np.array([[0.1], [0.0], [-0.2], [0.3]])
    compare(run_lds(A, C, W, x0, v, u), reference(A, C, W, x0, v, u)[1], name="y_1..y_4 (2 states, 1 output)")
    compare(run_lds(A, C, W, x0, np.zeros((3, 1)), np.zeros((3, 1))),
            np.array([[(C @ np.linalg.matrix_power(A, t) @ x0)[0]] for t in (1, 2, 3)]),
            name="without noise: y_t = C A^t x0")


# --- 3. forecast error grows with the horizon -------------------------------------------------------

def _solution_ar1_forecast_variance(phi: float, sigma2: float, h: int) -> np.ndarray:
    """The variance of the recursive AR(1) forecast error at horizons 1 .. h: (h,).
    The error after j steps is v_{t+j} + phi v_{t+j-1} + ... + phi^{j-1} v_{t+1}."""
    powers = phi ** (2 * np.arange(h))
    return sigma2 * np.cumsum(powers)


def _wrong_last_term_only(phi, sigma2, h):
    """Keeps only the oldest shock's contribution."""
    return sigma2 * phi ** (2 * np.arange(h))


def _wrong_random_walk(phi, sigma2, h):
    """Forgets that the shocks are damped by phi (right only for phi = 1)."""
    return sigma2 * np.arange(1, h + 1, dtype=float)


@register("L9.ar1_forecast_variance", "AR(1): variance of the h-step forecast error",
          solution=_solution_ar1_forecast_variance, wrong=(_wrong_last_term_only, _wrong_random_walk))
def _check_ar1_forecast_variance(ar1_forecast_variance) -> None:
    compare(ar1_forecast_variance(0.5, 4.0, 3), np.array([4.0, 5.0, 5.25]), name="phi 0.5, sigma2 4, h 1..3")
    compare(ar1_forecast_variance(0.9, 1.0, 200)[-1], 1 / (1 - 0.81), name="long horizon -> the series' variance",
            rtol=1e-6)


# --- 4. the likelihood from the Kalman filter ----------------------------------------------------

def _solution_gaussian_loglik(innovations: np.ndarray, variances: np.ndarray) -> float:
    """innovations e_t = y_t - y_pred_t: (T,) (NaN where y_t is missing), variances F_t: (T,) -> the
    Gaussian log-likelihood  sum_t -1/2 (log(2 pi F_t) + e_t^2 / F_t)  over the observed t."""
    e, F = np.asarray(innovations, dtype=float), np.asarray(variances, dtype=float)
    seen = ~np.isnan(e)
    return float(-0.5 * np.sum(np.log(2 * np.pi * F[seen]) + e[seen] ** 2 / F[seen]))


def _wrong_no_log_term(innovations, variances):
    """Drops log(2 pi F_t): right only up to a constant -- and wrong for comparing models."""
    e, F = np.asarray(innovations, dtype=float), np.asarray(variances, dtype=float)
    seen = ~np.isnan(e)
    return float(-0.5 * np.sum(e[seen] ** 2 / F[seen]))


def _wrong_keeps_missing(innovations, variances):
    """Sums over every step, so one missing observation makes it NaN."""
    e, F = np.asarray(innovations, dtype=float), np.asarray(variances, dtype=float)
    return float(-0.5 * np.sum(np.log(2 * np.pi * F) + e ** 2 / F))


@register("L9.gaussian_loglik", "the log-likelihood from the Kalman filter's innovations",
          solution=_solution_gaussian_loglik, wrong=(_wrong_no_log_term, _wrong_keeps_missing))
def _check_gaussian_loglik(gaussian_loglik) -> None:
    from course_lib.time_series import kalman_filter

    y = np.array([1120.0, 1160.0, np.nan, 1210.0, 1160.0, 1160.0, 813.0])   # Nile-like, one year missing
    kf = kalman_filter(y, 1.0, 1.0, 1469.1, 15099.0, [1100.0], [[1e4]])
    compare(gaussian_loglik(kf.innovations[:, 0], kf.forecast_cov[:, 0, 0]), kf.loglik,
            name="log-likelihood of a local level model (one value missing)")
    compare(gaussian_loglik(np.array([0.0]), np.array([1.0])), -0.5 * np.log(2 * np.pi), name="e = 0, F = 1")


# --- 5. windows for an RNN ---------------------------------------------------------------------------

def _solution_windows(x: np.ndarray, L: int, H: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """x: (T,) -> (X (N, L), Y (N, H)): window i is x[i : i + L], its future x[i + L : i + L + H];
    only futures that end before `end` are used (N = end - L - H + 1)."""
    n = end - L - H + 1
    X = np.stack([x[i:i + L] for i in range(n)])
    Y = np.stack([x[i + L:i + L + H] for i in range(n)])
    return X, Y


def _wrong_peeks_past_end(x, L, H, end):
    """Lets the last futures run past `end`: the test period leaks into training."""
    n = end - L + 1
    X = np.stack([x[i:i + L] for i in range(n)])
    Y = np.stack([x[i + L:i + L + H] if i + L + H <= len(x) else np.full(H, np.nan) for i in range(n)])
    return X, Y


def _wrong_overlapping_target(x, L, H, end):
    """The future starts inside the window (at its last value): the answer is in the input."""
    n = end - L - H + 2
    X = np.stack([x[i:i + L] for i in range(n)])
    Y = np.stack([x[i + L - 1:i + L - 1 + H] for i in range(n)])
    return X, Y


@register("L9.windows", "cut (window, future) training pairs without leaking the future",
          solution=_solution_windows, wrong=(_wrong_peeks_past_end, _wrong_overlapping_target))
def _check_windows(windows) -> None:
    x = np.arange(10.0, 20.0)                     # 10 .. 19
    X, Y = windows(x, 3, 2, 8)
    compare(X, np.array([[10.0, 11, 12], [11, 12, 13], [12, 13, 14], [13, 14, 15]]), name="inputs (L = 3)")
    compare(Y, np.array([[13.0, 14], [14, 15], [15, 16], [16, 17]]), name="futures (H = 2) all before end = 8")


# --- 6. M4's overall weighted average -----------------------------------------------------------------

def _solution_owa(smape: float, mase: float, smape_naive: float, mase_naive: float) -> float:
    """M4's OWA: the mean of sMAPE and MASE, each relative to a naive benchmark (< 1: better than it)."""
    return 0.5 * (smape / smape_naive + mase / mase_naive)


def _wrong_owa_raw(smape, mase, smape_naive, mase_naive):
    """Averages the raw errors: sMAPE (in %) swamps MASE."""
    return 0.5 * (smape + mase) / (0.5 * (smape_naive + mase_naive))


def _wrong_owa_inverted(smape, mase, smape_naive, mase_naive):
    """Benchmark over method: bigger is better, the opposite of M4."""
    return 0.5 * (smape_naive / smape + mase_naive / mase)


@register("L9.owa", "M4's overall weighted average (OWA)", solution=_solution_owa,
          wrong=(_wrong_owa_raw, _wrong_owa_inverted))
def _check_owa(owa) -> None:
    compare(owa(12.0, 1.5, 16.0, 1.5), 0.875, name="sMAPE 25% better, MASE equal")
    compare(owa(9.0, 2.4, 10.0, 2.0), 1.05, name="sMAPE 10% better, MASE 20% worse: worse overall")
