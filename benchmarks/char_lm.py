"""Lecture 6's character-model comparison: tanh RNN vs GRU vs LSTM at the same budget, against gzip and xz.

Every model is a tied ``CharRNNLM`` with about ``--params`` parameters, trained by
``course_lib.recipes.char_lm.train_char_lm`` (the lecture's recipe: ``--steps`` Adam steps of 32 windows of
128 characters, cosine decay, clipping at 1, dropout) on lecture 3's text (``char_lm_data(--chars)``); the
table gives bits per held-out character, static and with dynamic evaluation, next to gzip and xz.
Several ``--lr`` values train each model once per rate (a learning-rate sweep). The trained models go to
the course cache like the lecture's, so the lecture reuses them when the settings match.

    OMP_NUM_THREADS=1 python benchmarks/char_lm.py                       # the lecture's full-mode settings
    OMP_NUM_THREADS=1 python benchmarks/char_lm.py --steps 400 --lr 0.002 0.005 0.01 --no-cache

Each model is also scored on validation files (the 200,000 stdlib characters after the lecture's text: in
neither its training nor its held-out part), statically and with each ``--dyn-lr``; the held-out
dynamic number uses the rate that was best on validation, so nothing is chosen on the held-out text.
``LECTURE_LR`` and ``DYNAMIC_LR`` in ``course_lib.recipes.char_lm`` come from these runs.

Goal (issue 16): the LSTM beats xz on the held-out text in the lecture's full-mode budget (2 CPUs, the
whole lecture <= 15 min). Measured 2026-12-01, 1 thread, 1200 steps, about 550 k parameters each:

    validation (xz 1.821)        static  dyn 1e-3  dyn 2e-3  dyn 3e-3
    tanh RNN, lr 2e-3             2.309     2.104     2.321     2.541
    GRU, lr 5e-3                  2.056     1.714     1.725     1.784
    GRU, lr 1e-2                  2.248     1.920     1.935     1.976
    LSTM, lr 5e-3                 2.171     1.872     1.851     1.858
    LSTM, lr 1e-2                 2.120     1.844     1.815     1.817
    held out (xz 1.882, gzip 2.085, xz after the training text 1.691)
    tanh RNN, lr 2e-3             2.367     2.160 (dyn 1e-3)
    GRU, lr 5e-3                  2.109     1.768 (dyn 1e-3)
    LSTM, lr 1e-2                 2.175     1.860 (dyn 2e-3): beats xz by 0.022

Training took 191 s (tanh RNN), 221 s (GRU) and 260 s (LSTM, 169 s on a quieter machine) per model.
"""
from __future__ import annotations

import argparse
import time

import torch

from course_lib.data.chars import char_lm_data, compressed_bits_per_char, encode_text
from course_lib.data.corpora import stdlib_code_text
from course_lib.lm import bits_per_char, dynamic_bits_per_char
from course_lib.recipes.char_lm import LECTURE_LR, hidden_for_budget, train_char_lm

NAMES = {"elman": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}


VALIDATION_CHARS = 200_000  # stdlib files after the lecture's text: in neither its training nor its held-out part


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=2_000_000)
    ap.add_argument("--params", type=int, default=550_000)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--kinds", nargs="+", default=["elman", "gru", "lstm"], choices=list(NAMES))
    ap.add_argument("--lr", type=float, nargs="*", default=[], help="learning rates (default: the lecture's per kind)")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--keep-bias", default="1.0", help="initial forget/update-gate bias of the GRU and LSTM, or 'none'")
    ap.add_argument("--dyn-lr", type=float, nargs="+", default=[1e-3, 2e-3, 3e-3],
                    help="dynamic-evaluation rates, compared on the validation files")
    ap.add_argument("--no-cache", action="store_true", help="train again, do not store")
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = char_lm_data(a.chars)
    heldout = data.heldout_ids
    validation_text = stdlib_code_text(max_chars=a.chars + VALIDATION_CHARS)[a.chars:]
    validation = encode_text(data.vocab, validation_text)
    keep_bias = None if a.keep_bias.lower() == "none" else float(a.keep_bias)
    print(f"{len(data.train_text):,} training characters, {len(data.heldout_text):,} held out, "
          f"{len(validation_text):,} for validation (the files after them); "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    rows = []
    for kind in a.kinds:
        for lr in a.lr or [LECTURE_LR[kind]]:
            hidden = hidden_for_budget(kind, a.params, len(data.vocab))
            run = train_char_lm(data, kind, hidden, a.steps, lr=lr, dropout=a.dropout, keep_bias=keep_bias,
                                cache=not a.no_cache)
            t0 = time.perf_counter()
            val_static = bits_per_char(run.model, validation)
            val_dynamic = {d: dynamic_bits_per_char(run.model, validation, lr=d) for d in a.dyn_lr}
            best_dyn = min(val_dynamic, key=val_dynamic.__getitem__)
            static = bits_per_char(run.model, heldout)
            dynamic = dynamic_bits_per_char(run.model, heldout, lr=best_dyn)
            train = bits_per_char(run.model, data.train_ids[: len(heldout)])
            rows.append(dict(name=f"{NAMES[kind]}, hidden {hidden}, lr {lr:g}", val_static=val_static,
                             val_dynamic=val_dynamic, best_dyn=best_dyn, static=static, dynamic=dynamic, train=train,
                             params=run.n_params, seconds=run.seconds, eval_seconds=time.perf_counter() - t0))
    print(f"\nvalidation bits/char ({a.steps} steps, dropout {a.dropout}, keep bias {keep_bias}); xz "
          f"{compressed_bits_per_char(validation_text, 'xz'):.3f}")
    print(f"{'':32s} {'static':>7s} " + " ".join(f"{'dyn ' + format(d, 'g'):>9s}" for d in a.dyn_lr))
    for r in rows:
        print(f"{r['name']:32s} {r['val_static']:7.3f} " + " ".join(f"{r['val_dynamic'][d]:9.3f}" for d in a.dyn_lr))
    print("\nbits per held-out character (dynamic: at the rate best on validation)")
    print(f"{'':32s} {'static':>7s} {'dynamic':>8s} {'dyn lr':>7s} {'train':>7s} {'params':>8s} {'train s':>8s} "
          f"{'eval s':>7s}")
    for r in rows:
        print(f"{r['name']:32s} {r['static']:7.3f} {r['dynamic']:8.3f} {r['best_dyn']:7g} {r['train']:7.3f} "
              f"{r['params']:8,d} {r['seconds']:8.0f} {r['eval_seconds']:7.0f}")
    xz = compressed_bits_per_char(data.heldout_text, "xz")
    for name, value in (("gzip", compressed_bits_per_char(data.heldout_text, "gzip")), ("xz", xz),
                        ("xz after the training text",
                         compressed_bits_per_char(data.heldout_text, "xz", context=data.train_text))):
        print(f"{name:32s} {value:7.3f}")
    lstm = [r for r in rows if r["name"].startswith("LSTM")]
    if lstm:
        best = min(r["dynamic"] for r in lstm)
        print(f"best LSTM (dynamic) {best:.3f} vs xz {xz:.3f}: {'MET' if best < xz else 'NOT MET'}")


if __name__ == "__main__":
    main()
