"""Checks on the SUMMARY of lectures/09_time_series.ipynb."""

SERIES = ("co2", "sunspots", "nile", "macro", "elnino")


def check(summary: dict, fast: bool) -> None:
    s = summary
    # the data: missing values are counted, not hidden
    assert s["co2_missing_weeks"] == 59 and s["co2_missing_months"] == 5, s
    # the simulated LDS: |lambda| = rho = 0.97 and a 12-step period from the eigenvalues' angle
    assert abs(s["lds_spectral_radius"] - 0.97) < 1e-9 and abs(s["lds_period"] - 12) < 1e-6, s
    # least squares by hand = AutoReg / VAR; recursive forecasts = AutoReg.predict
    assert s["ar_coef_max_diff"] < 1e-8 and s["var_coef_max_diff"] < 1e-8 and s["forecast_max_diff"] < 1e-8, s
    # the sunspots' AR(9): stable, and its dominant eigenvalue pair is the ~11-year cycle
    assert s["sunspot_aic_order"] == 9, s
    assert 9.5 < s["sunspot_cycle_years"] < 11.5 and 0.9 < s["sunspot_spectral_radius"] < 1.0, s
    # recursive forecast error grows with the horizon, in theory and measured
    assert s["ar_rmse_h10"] > s["ar_rmse_h1"] and s["ar_theory_rmse_h10"] > s["ar_theory_rmse_h1"], s
    # the Kalman filter matches statsmodels; its steady gain is close to ETS(A,N,N)'s alpha
    assert s["kalman_max_diff"] < 1e-6 and s["kalman_loglik_diff"] < 1e-6, s
    assert 0.2 < s["kalman_gain"] < 0.35 and abs(s["kalman_gain"] - s["ets_alpha_nile"]) < 0.06, s
    # the RNN part: training lowers the loss, the windows do not leak
    assert s["windows_no_leak"] is True and s["gru_last_loss"] < s["gru_first_loss"], s
    # the comparison: every series has every method, with sane numbers
    for name in SERIES:
        for m in ("naive", "seasonal naive", "AR(d)", "ETS", "GRU", "AR(d) + GRU"):
            assert 0 < s[f"mase_{name}_{m}"] < 10 and 0 < s[f"smape_{name}_{m}"] < 200, (name, m, s)
        # AR(d) beats the naive forecast everywhere
        assert s[f"mase_{name}_AR(d)"] < s[f"mase_{name}_naive"], name
    # the seasonal naive forecast beats the naive one on the seasonal series
    for name in ("co2", "elnino"):
        assert s[f"mase_{name}_seasonal naive"] < s[f"mase_{name}_naive"], name
    if fast:
        return
    for name in SERIES:
        for cell in ("RNN", "LSTM"):
            assert f"mase_{name}_{cell}" in s, (name, cell)
    # the lecture's claims (full run): on the long series a network matches AR(d) within 5 % or beats it,
    # the combination beats AR(d) there; on sunspots and macro AR(d) beats every network
    for name in ("co2", "elnino"):
        best_net = min(s[f"mase_{name}_{c}"] for c in ("RNN", "GRU", "LSTM"))
        assert best_net < 1.05 * s[f"mase_{name}_AR(d)"], (name, best_net)
        assert s[f"mase_{name}_AR(d) + GRU"] < s[f"mase_{name}_AR(d)"], name
        assert best_net < s[f"mase_{name}_seasonal naive"], name
    for name in ("sunspots", "macro"):
        assert s[f"mase_{name}_AR(d)"] < min(s[f"mase_{name}_{c}"] for c in ("RNN", "GRU", "LSTM")), name
    # section 7: on the short sunspot series the direct network (10 outputs) overfits, the one-step one does not
    assert s["gru_recursive_mase"] < s["gru_direct_mase"], s
    for name in ("co2", "sunspots", "nile", "elnino"):
        assert f"mase_{name}_GRU (recursive)" in s, name
