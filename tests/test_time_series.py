"""course_lib.data.series, course_lib.time_series and course_lib.models.forecasters: real numbers,
checked against statsmodels (AutoReg, VAR, ar_select_order, UnobservedComponents) and by hand."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from course_lib.data import series as S
from course_lib.data.series import SeriesUnavailable, co2, fill_missing, load_series
from course_lib.models.forecasters import (ForecasterConfig, RNNForecaster, choose_steps, forecast, recursive_forecast,
                                           rnn_forecaster, train_forecaster)
from course_lib.time_series import (Scaler, SeriesSetup, ar_forecast, ar_forecaster, combine, companion_matrix,
                                    fit_ar, kalman_filter, kalman_step, lag_matrix, make_windows, mase, mase_terms,
                                    naive_forecast, naive_forecaster, results_table, rolling_comparison,
                                    rolling_origin_splits, rolling_origins, run_lds, seasonal_naive, select_ar_order,
                                    simulate_lds, smape, smape_terms, spectral_radius)

sm = pytest.importorskip("statsmodels.api")
from statsmodels.tsa.ar_model import AutoReg, ar_select_order  # noqa: E402
from statsmodels.tsa.api import VAR  # noqa: E402


# --- data ------------------------------------------------------------------------------------

def test_series_shapes_and_character():
    expected = {"co2": (526, 12, True), "sunspots": (309, 11, False), "nile": (100, 1, False),
                "macro": (202, 4, False), "elnino": (732, 12, True)}
    for name, (n, period, seasonal) in expected.items():
        s = load_series(name)
        assert len(s) == n and s.period == period and s.seasonal == seasonal, s
        assert np.isfinite(s.values).all() and np.all(np.diff(s.time) > 0)
    macro = load_series("macro")
    assert macro.values.shape == (202, 3) and macro.columns[0] == "unemp"
    np.testing.assert_allclose(macro.target, macro.values[:, 0])
    assert load_series("sunspots").mase_period == 1 and load_series("co2").mase_period == 12


def test_co2_missing_values_are_explicit():
    with pytest.raises(TypeError):
        co2("weekly")  # no silent default: the caller must say what to do with the gaps
    with pytest.raises(ValueError, match="59 missing values"):
        co2("weekly", missing="raise")
    kept = co2("weekly", missing="keep")
    assert int(np.isnan(kept.values).sum()) == 59 and int(kept.filled.sum()) == 59
    filled = co2("weekly", missing="interpolate")
    assert np.isfinite(filled.values).all()
    np.testing.assert_array_equal(filled.filled, np.isnan(kept.values))
    np.testing.assert_allclose(filled.values[~filled.filled], kept.values[~kept.filled])
    i = int(np.flatnonzero(filled.filled)[0])  # an interior gap lies between its neighbours
    assert min(filled.values[i - 1], filled.values[i + 1]) - 1 <= filled.values[i] <= max(
        filled.values[i - 1], filled.values[i + 1]) + 1
    monthly = co2("monthly", missing="interpolate")
    assert int(monthly.filled.sum()) == 5 and "5 missing months filled" in monthly.description


def test_fill_missing_linear_and_ends():
    t = np.arange(6.0)
    v, mask = fill_missing(np.array([np.nan, 1.0, np.nan, 3.0, 7.0, np.nan]), t, "interpolate", "x")
    np.testing.assert_allclose(v, [1.0, 1.0, 2.0, 3.0, 7.0, 7.0])
    assert mask.tolist() == [True, False, True, False, False, True]
    with pytest.raises(ValueError, match="missing must be one of"):
        fill_missing(v, t, "drop", "x")


def test_clear_error_without_statsmodels(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)  # import now raises ImportError
    with pytest.raises(SeriesUnavailable, match="statsmodels"):
        S.nile()


# --- AR(d) -----------------------------------------------------------------------------------

def test_lag_matrix_small_example():
    X, y = lag_matrix(np.array([1.0, 2, 3, 4, 5]), 2)
    np.testing.assert_array_equal(X, [[2, 1], [3, 2], [4, 3]])
    np.testing.assert_array_equal(y, [3, 4, 5])
    Xk, yk = lag_matrix(np.arange(12.0).reshape(6, 2), 2)
    assert Xk.shape == (4, 4) and yk.shape == (4, 2)
    np.testing.assert_array_equal(Xk[0], [2, 3, 0, 1])  # lag 1 (both variables), then lag 2
    with pytest.raises(ValueError, match="more than d"):
        lag_matrix([1.0, 2.0], 2)
    with pytest.raises(ValueError, match="NaN"):
        lag_matrix([1.0, np.nan, 2.0, 3.0], 1)
    with pytest.raises(ValueError, match="d must be"):
        lag_matrix([1.0, 2.0, 3.0], 0)


@pytest.mark.parametrize("name,d", [("sunspots", 9), ("nile", 3), ("co2", 13)])
def test_fit_ar_matches_autoreg(name, d):
    y = load_series(name).target
    fit = fit_ar(y, d)
    ref = AutoReg(y, d, trend="c").fit()
    np.testing.assert_allclose(np.r_[fit.intercept, fit.coefs], ref.params, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fit.sigma2, ref.sigma2, rtol=1e-9)
    np.testing.assert_allclose(ar_forecast(y, fit, 7), ref.predict(start=len(y), end=len(y) + 6), rtol=1e-9)
    no_c = fit_ar(y, d, intercept=False)
    np.testing.assert_allclose(no_c.coefs, AutoReg(y, d, trend="n").fit().params, rtol=1e-8)


def test_var_matches_statsmodels():
    x = load_series("macro").values
    fit = fit_ar(x, 3)
    ref = VAR(x).fit(3)
    np.testing.assert_allclose(fit.coefs, ref.coefs, atol=1e-10)
    np.testing.assert_allclose(fit.intercept, ref.intercept, atol=1e-10)
    np.testing.assert_allclose(ar_forecast(x, fit, 5), ref.forecast(x[-3:], 5), atol=1e-10)
    with pytest.raises(ValueError, match="does not match"):
        ar_forecast(x[:, 0], fit, 2)


def test_select_ar_order_matches_statsmodels():
    for name in ("sunspots", "nile", "elnino"):
        y = load_series(name).target
        for crit in ("aic", "bic"):
            lags = ar_select_order(y, 12, ic=crit, trend="c").ar_lags
            assert select_ar_order(y, 12, crit) == (max(lags) if lags else 0), (name, crit)


def test_companion_matrix_eigenvalues_are_the_ar_roots():
    A = companion_matrix([1.2, -0.5])
    np.testing.assert_array_equal(A, [[1.2, -0.5], [1.0, 0.0]])
    # eigenvalues solve z^2 - 1.2 z + 0.5 = 0: 0.6 +- 0.374i, |z| = sqrt(0.5)
    np.testing.assert_allclose(spectral_radius(A), np.sqrt(0.5))
    assert spectral_radius(companion_matrix([0.5, 0.6])) > 1  # 0.5 + 0.6 > 1: explosive
    assert spectral_radius(companion_matrix([0.5, 0.5])) == pytest.approx(1.0)  # a unit root
    big = companion_matrix(np.arange(12.0).reshape(3, 2, 2))
    assert big.shape == (6, 6)
    np.testing.assert_array_equal(big[2:, :4], np.eye(4))
    with pytest.raises(ValueError, match="coefs must be"):
        companion_matrix(np.zeros((2, 2, 3)))


def test_ar_is_an_lds_with_the_companion_matrix():
    coefs = np.array([0.6, -0.2, 0.3])
    rng = np.random.default_rng(0)
    v = rng.standard_normal((50, 1))
    A, C, W = companion_matrix(coefs), np.array([[1.0, 0, 0]]), np.array([[0.7], [0], [0]])
    _, y = run_lds(A, C, W, np.zeros(3), v, np.zeros((50, 1)))
    x = np.zeros(53)
    for t in range(50):  # the AR recursion written out
        x[t + 3] = coefs @ x[t:t + 3][::-1] + 0.7 * v[t, 0]
    np.testing.assert_allclose(y[:, 0], x[3:], atol=1e-12)
    xs, ys = simulate_lds(A, C, W, [[1e-9]], np.zeros(3), 40, seed=1)
    assert xs.shape == (40, 3) and ys.shape == (40, 1)
    np.testing.assert_allclose(xs[1:, 1], xs[:-1, 0])  # the state shifts down by one lag


# --- Kalman filter ----------------------------------------------------------------------------------

def _uc(y, level, params, m1, P1):
    mod = sm.tsa.UnobservedComponents(y, level)
    mod.ssm.initialize_known(np.asarray(m1, float), np.asarray(P1, float))
    mod.ssm.loglikelihood_burn = 0
    return mod.filter(params)


@pytest.mark.parametrize("gap", [False, True])
def test_kalman_filter_matches_statsmodels_local_level(gap):
    y = load_series("nile").values.copy()
    if gap:
        y[30:40] = np.nan
    kf = kalman_filter(y, 1.0, 1.0, 1469.1, 15099.0, [1000.0], [[1e5]])
    ref = _uc(y, "llevel", [15099.0, 1469.1], [1000.0], [[1e5]])
    np.testing.assert_allclose(kf.filtered_state[:, 0], ref.filtered_state[0], rtol=1e-10)
    np.testing.assert_allclose(kf.filtered_cov[:, 0, 0], ref.filtered_state_cov[0, 0], rtol=1e-9)
    np.testing.assert_allclose(kf.forecasts[:, 0], ref.forecasts[0], rtol=1e-10)
    np.testing.assert_allclose(kf.forecast_cov[:, 0, 0], ref.forecasts_error_cov[0, 0], rtol=1e-9)
    np.testing.assert_allclose(kf.predicted_state[1:, 0], ref.predicted_state[0, 1:-1], rtol=1e-10)
    np.testing.assert_allclose(kf.loglik, ref.llf, rtol=1e-10)
    if gap:  # no information in the gap: the predicted variance grows by Q each year
        np.testing.assert_allclose(np.diff(kf.predicted_cov[30:41, 0, 0]), 1469.1, rtol=1e-9)


def test_kalman_filter_matches_statsmodels_two_states():
    y = load_series("nile").values
    A, C, Q, R = [[1.0, 1.0], [0.0, 1.0]], [[1.0, 0.0]], np.diag([1000.0, 10.0]), [[15000.0]]
    kf = kalman_filter(y, A, C, Q, R, [1000.0, 0.0], np.diag([1e5, 1e2]))
    ref = _uc(y, "lltrend", [15000.0, 1000.0, 10.0], [1000.0, 0.0], np.diag([1e5, 1e2]))
    np.testing.assert_allclose(kf.filtered_state, ref.filtered_state.T, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(kf.filtered_cov, np.moveaxis(ref.filtered_state_cov, 2, 0), rtol=1e-8, atol=1e-6)
    np.testing.assert_allclose(kf.loglik, ref.llf, rtol=1e-10)


def test_kalman_step_is_one_iteration_of_the_filter():
    y = load_series("nile").values[:5]
    A, C, Q, R = [[0.9]], [[1.0]], [[1469.1]], [[15099.0]]
    kf = kalman_filter(y, A, C, Q, R, [1000.0], [[1e4]])
    st = kalman_step(kf.filtered_state[2], kf.filtered_cov[2], y[3:4], A, C, Q, R)
    np.testing.assert_allclose(st.m, kf.filtered_state[3])
    np.testing.assert_allclose(st.P, kf.filtered_cov[3])
    np.testing.assert_allclose(st.y_pred, kf.forecasts[3])
    # scalar case by hand: P_pred = 0.81 P + Q, K = P_pred / (P_pred + R)
    P_pred = 0.81 * 100.0 + 1.0
    st = kalman_step([2.0], [[100.0]], [3.0], [[0.9]], [[1.0]], [[1.0]], [[4.0]])
    K = P_pred / (P_pred + 4.0)
    np.testing.assert_allclose(st.m, [1.8 + K * (3.0 - 1.8)])
    np.testing.assert_allclose(st.P, [[(1 - K) * P_pred]])
    missing = kalman_step([2.0], [[100.0]], [np.nan], [[0.9]], [[1.0]], [[1.0]], [[4.0]])
    np.testing.assert_allclose(missing.m, [1.8])
    np.testing.assert_allclose(missing.P, [[P_pred]])
    with pytest.raises(ValueError, match="shapes do not fit"):
        kalman_step([0.0], [[1.0]], [0.0], [[1.0]], [[1.0, 0.0]], [[1.0]], [[1.0]])


# --- baselines, errors, splits -----------------------------------------------------------------------

def test_naive_and_seasonal_naive():
    h = np.array([1.0, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(naive_forecast(h, 3), [7, 7, 7])
    np.testing.assert_array_equal(seasonal_naive(h, 3, 7), [5, 6, 7, 5, 6, 7, 5])
    np.testing.assert_array_equal(seasonal_naive(h, 1, 2), [7, 7])
    with pytest.raises(ValueError, match="at least 8 past values"):
        seasonal_naive(h, 8, 2)


def test_mase_and_smape():
    train = np.array([1.0, 3.0, 2.0, 5.0])           # naive in-sample MAE = (2 + 1 + 3) / 3 = 2
    np.testing.assert_allclose(mase_terms([6.0, 4.0], [5.0, 8.0], train), [0.5, 2.0])
    assert mase([6.0, 4.0], [5.0, 8.0], train) == pytest.approx(1.25)
    assert mase([6.0], [5.0], [1.0, 2.0, 3.0, 1.0, 2.0, 4.0], m=3) == pytest.approx(3.0)  # scale (0 + 0 + 1) / 3
    with pytest.raises(ValueError, match="does not change"):
        mase([1.0], [2.0], np.full(10, 3.0))
    with pytest.raises(ValueError, match="longer than m"):
        mase([1.0], [2.0], [1.0, 2.0], m=2)
    assert smape([100.0, 0.0], [110.0, 0.0]) == pytest.approx(200 * 10 / 210 / 2)  # 0/0 counts as 0
    np.testing.assert_allclose(smape_terms([0.0, -1.0], [2.0, 1.0]), [200.0, 200.0])
    with pytest.raises(ValueError, match="same shape"):
        smape([1.0, 2.0], [1.0])


def test_rolling_origins_never_leak():
    assert rolling_origins(10, 6, 3) == [6, 7]
    assert rolling_origins(20, 5, 4, step=5) == [5, 10, 15]
    for train, test in rolling_origin_splits(30, 10, 5, 2):
        assert train.max() < test.min() and len(test) == 5 and test.max() < 30
        np.testing.assert_array_equal(train, np.arange(len(train)))
    with pytest.raises(ValueError, match="no origin fits"):
        rolling_origins(10, 8, 3)


def test_make_windows_and_scaler_use_only_the_training_part():
    x = np.arange(20.0)
    X, Y = make_windows(x, 4, 2, end=10)
    assert X.shape == (5, 4, 1) and Y.shape == (5, 2)
    np.testing.assert_array_equal(X[-1, :, 0], [4, 5, 6, 7])
    np.testing.assert_array_equal(Y[-1], [8, 9])          # the last future ends before `end`
    assert Y.max() < 10
    with pytest.raises(ValueError, match="no window fits"):
        make_windows(x, 8, 3, end=10)
    train, later = x[:10], x[10:]
    s1 = Scaler.fit(train)
    s2 = Scaler.fit(np.r_[train, later * 100][:10])        # the future does not change the scaler
    np.testing.assert_array_equal(s1.mean, s2.mean)
    for center in ("mean", "last"):
        sc = Scaler.fit(np.c_[np.sin(x), x], center)
        Xw, Yw = make_windows(np.c_[np.sin(x), x], 5, 3, end=20)
        np.testing.assert_allclose(sc.unscale(sc.targets(Yw, Xw), Xw), Yw)
    wavy = x + np.sin(x)
    last = Scaler.fit(wavy, "last")
    np.testing.assert_allclose(last.inputs(make_windows(wavy, 4, 2, end=10)[0])[:, -1, 0], 0.0)  # "now" is 0
    with pytest.raises(ValueError, match="constant"):
        Scaler.fit(np.ones(5))


def test_rolling_comparison_scores_by_hand():
    rng = np.random.default_rng(0)
    y = np.cumsum(rng.standard_normal(60)) + 50
    fake = S.Series("rw", y, np.arange(60.0), ("y",), "yearly", 1, False, np.zeros(60, bool), "", "")
    setup = SeriesSetup(horizon=3, test=10, window=5, max_ar_order=2, center="mean")
    res = rolling_comparison(fake, setup, {"naive": naive_forecaster(), "AR(d)": ar_forecaster(2)})
    r = res["naive"]
    assert r.origins == list(range(50, 58)) and r.forecasts.shape == (8, 3)
    o = r.origins[3]
    np.testing.assert_allclose(r.forecasts[3], y[o - 1])
    expected = np.mean([mase_terms(y[o:o + 3], np.full(3, y[o - 1]), y[:o]) for o in r.origins], axis=0)
    np.testing.assert_allclose(r.mase_h, expected)
    both = combine(res, ["naive", "AR(d)"])
    np.testing.assert_allclose(both.forecasts, (res["naive"].forecasts + res["AR(d)"].forecasts) / 2)
    assert "naive" in results_table({"rw": res})


# --- RNN forecasters ----------------------------------------------------------------------------

def test_rnn_forecaster_shapes_and_errors():
    for cell in ("rnn", "gru", "lstm"):
        m = RNNForecaster(3, 8, 5, cell)
        assert m(torch.zeros(2, 7, 3)).shape == (2, 5)
    with pytest.raises(ValueError, match="cell must be"):
        RNNForecaster(1, 8, 5, "transformer")
    with pytest.raises(ValueError, match="expected x of shape"):
        RNNForecaster(3, 8, 5)(torch.zeros(2, 7, 2))


def _wave(n=200):
    t = np.arange(n)
    return 10 + np.sin(2 * np.pi * t / 12) + 0.05 * t + 0.05 * np.random.default_rng(0).standard_normal(n)


def test_train_forecaster_learns_without_leakage(tmp_path):
    y = _wave()
    cfg = ForecasterConfig(cell="gru", hidden=8, window=24, horizon=6, steps=150, lr=1e-2, center="last")
    tr = train_forecaster(y, 150, cfg)
    assert tr.history.steps_done == 150 and tr.history.train_loss[-1] < tr.history.train_loss[0]
    fc = forecast(tr, y[:150])
    err = np.abs(fc - y[150:156]).mean()
    assert err < np.abs(y[149] - y[150:156]).mean(), "better than the naive forecast on a clean seasonal wave"
    changed = y.copy()
    changed[150:] = -1e3                                    # the future is never read during training
    tr2 = train_forecaster(changed, 150, cfg)
    for a, b in zip(tr.model.parameters(), tr2.model.parameters()):
        torch.testing.assert_close(a, b)
    many = forecast(tr, [y[:150], y[:160]])
    assert many.shape == (2, 6)
    np.testing.assert_allclose(many[0], fc, rtol=1e-6)
    ckpt = tmp_path / "f.pt"
    first = forecast(train_forecaster(y, 150, cfg, checkpoint_path=ckpt), y[:150])
    again = train_forecaster(y, 150, cfg, checkpoint_path=ckpt)  # reloaded, not retrained
    assert again.history.resumed_from == 150
    np.testing.assert_allclose(forecast(again, y[:150]), first, rtol=1e-6)


def test_recursive_and_choose_steps():
    y = _wave()
    one = train_forecaster(y, 150, ForecasterConfig(hidden=8, window=24, horizon=1, steps=60, center="last"))
    rec = recursive_forecast(one, y[:150], 4)
    hist = list(y[:150])
    for _ in range(4):
        hist.append(float(forecast(one, np.array(hist))[0]))
    np.testing.assert_allclose(rec, hist[150:], rtol=1e-6)
    with pytest.raises(ValueError, match="one-step"):
        recursive_forecast(train_forecaster(y, 150, ForecasterConfig(hidden=4, window=10, horizon=2, steps=2)),
                           y, 3)
    cfg = ForecasterConfig(hidden=8, window=24, horizon=6, steps=100, lr=1e-2, center="last")
    steps, hist_ = choose_steps(y[:150], 150, cfg, val_size=30, every=25)
    assert steps in (25, 50, 75, 100) and len(hist_.val_loss) >= 4
    build = rnn_forecaster(cfg, seeds=(0, 1))
    predict, note = build(y[:150])
    assert predict(y[:150], 6).shape == (6,) and "mean of 2 seeds" in note
    nets = {}
    predict, note = rnn_forecaster(cfg, recursive=True, trained_out=nets, name="rec")(y[:150])
    np.testing.assert_allclose(predict(y[:150], 6), recursive_forecast(nets["rec"][0], y[:150], 6))
    assert nets["rec"][0].config.horizon == 1 and "recursive" in note
    with pytest.raises(ValueError, match="one variable"):
        rnn_forecaster(cfg, recursive=True)(np.c_[y, y][:150])


def test_choose_steps_is_cached(tmp_path):
    y = _wave()
    cfg = ForecasterConfig(hidden=4, window=12, horizon=3, steps=50, center="last")
    first = choose_steps(y[:150], 150, cfg, 30, checkpoint_path=tmp_path / "sel.pt")
    again = choose_steps(y[:150], 150, cfg, 30, checkpoint_path=tmp_path / "sel.pt")
    assert first[0] == again[0] and again[1].resumed_from == 50
