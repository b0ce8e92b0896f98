"""Lecture 9's comparison in full: naive, seasonal naive, AR(d), ETS and RNN / GRU / LSTM forecasters
on five real series (statsmodels' co2, sunspots, nile, macrodata, elnino), rolling origin.

Every method is fitted once on the part before the first origin (AR order by AIC, ETS by maximum
likelihood, the networks' number of steps on a validation tail of that part) and then forecasts at
every origin from all the data up to it. The networks forecast all horizons at once (direct);
"GRU (recursive)" is a one-step GRU run on its own predictions, for comparison. The tables give
MASE and sMAPE averaged over horizons and origins (best of each column marked *), and the fit +
forecast seconds of each method, measured in this run on one CPU thread.

    OMP_NUM_THREADS=1 python benchmarks/time_series.py [--seeds 3] [--steps 1500] [--hidden 16]

With the defaults this is exactly the lecture's full mode (``FAST = False``), so the lecture's claims
can be checked from the command line; ``--no-choose`` trains for exactly ``--steps`` instead.
"""
from __future__ import annotations

import argparse
import time

import torch

from course_lib.models.forecasters import run_comparison
from course_lib.time_series import M4_FINDINGS, SETUPS, results_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    ap.add_argument("--cells", nargs="+", default=["rnn", "gru", "lstm"], choices=["rnn", "gru", "lstm"])
    ap.add_argument("--seeds", type=int, default=3, help="networks per cell type (their forecasts are averaged)")
    ap.add_argument("--steps", type=int, default=1500, help="(maximum) Adam steps per network")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--no-choose", action="store_true", help="train for exactly --steps (no validation choice)")
    ap.add_argument("--recursive", nargs="*", default=["gru"], choices=["rnn", "gru", "lstm"],
                    help="cells also trained one-step and run recursively (series of one variable)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    results = run_comparison(a.series, cells=tuple(a.cells), hidden=a.hidden, steps=a.steps,
                             seeds=tuple(range(a.seeds)), choose=not a.no_choose, recursive_cells=tuple(a.recursive),
                             progress=lambda line: print(f"[{time.perf_counter() - t0:6.1f} s] {line}", flush=True))
    total = time.perf_counter() - t0
    print(f"\n{len(a.series)} series, networks: {a.hidden} units, <= {a.steps} steps, {a.seeds} seed(s) each, "
          f"{'steps chosen on validation' if not a.no_choose else 'fixed steps'}; total {total:.0f} s\n")
    print(results_table(results, "mase"), end="\n\n")
    print(results_table(results, "smape"), end="\n\n")
    print("fit + forecast seconds (all origins):")
    print(results_table(results, "mase", times=True), end="\n\n")
    print("what each method was on each series:")
    for name, res in results.items():
        print(f"  {name}: " + "; ".join(f"{k} = {v.note}" for k, v in res.items() if k != v.note))
    print("\nM4 (Makridakis et al. 2018), for reference:")
    for finding in M4_FINDINGS:
        print(f"  - {finding}")


if __name__ == "__main__":
    main()
