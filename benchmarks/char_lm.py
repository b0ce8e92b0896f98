"""Lecture 6's character-model comparison: tanh RNN vs GRU vs LSTM at the same budget, against gzip and xz.

Every model is a tied ``CharRNNLM`` with about ``--params`` parameters, trained by
``course_lib.recipes.char_lm.train_char_lm`` (the lecture's recipe: ``--steps`` Adam steps of 32 windows of
128 characters, cosine decay, clipping at 1, dropout) on lecture 3's text (``char_lm_data(--chars)``); the
table gives bits per held-out character, static and with dynamic evaluation, next to gzip and xz.
Several ``--lr`` values train each model once per rate (a learning-rate sweep). The trained models go to
the course cache like the lecture's, so the lecture reuses them when the settings match.

    OMP_NUM_THREADS=1 python benchmarks/char_lm.py                       # the lecture's full-mode settings
    OMP_NUM_THREADS=1 python benchmarks/char_lm.py --steps 400 --lr 0.002 0.005 0.01 --no-cache

Goal (issue 16): the LSTM beats xz on the held-out text in the lecture's full-mode budget (2 CPUs, the
whole lecture <= 15 min).
"""
from __future__ import annotations

import argparse
import time

import torch

from course_lib.data.chars import char_lm_data, compressed_bits_per_char
from course_lib.lm import bits_per_char, dynamic_bits_per_char
from course_lib.recipes.char_lm import LECTURE_LR, hidden_for_budget, train_char_lm

NAMES = {"elman": "tanh RNN", "gru": "GRU", "lstm": "LSTM"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chars", type=int, default=2_000_000)
    ap.add_argument("--params", type=int, default=550_000)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--kinds", nargs="+", default=["elman", "gru", "lstm"], choices=list(NAMES))
    ap.add_argument("--lr", type=float, nargs="*", default=[], help="learning rates (default: the lecture's per kind)")
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--keep-bias", default="1.0", help="initial forget/update-gate bias of the GRU and LSTM, or 'none'")
    ap.add_argument("--dyn-lr", type=float, default=1e-3)
    ap.add_argument("--no-cache", action="store_true", help="train again, do not store")
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = char_lm_data(a.chars)
    heldout = data.heldout_ids
    keep_bias = None if a.keep_bias.lower() == "none" else float(a.keep_bias)
    print(f"{len(data.train_text):,} training characters, {len(data.heldout_text):,} held out; "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}")
    rows = []
    for kind in a.kinds:
        for lr in a.lr or [LECTURE_LR[kind]]:
            hidden = hidden_for_budget(kind, a.params, len(data.vocab))
            run = train_char_lm(data, kind, hidden, a.steps, lr=lr, dropout=a.dropout, keep_bias=keep_bias,
                                cache=not a.no_cache)
            t0 = time.perf_counter()
            static = bits_per_char(run.model, heldout)
            dynamic = dynamic_bits_per_char(run.model, heldout, lr=a.dyn_lr)
            train = bits_per_char(run.model, data.train_ids[: len(heldout)])
            rows.append((f"{NAMES[kind]}, hidden {hidden}, lr {lr:g}", static, dynamic, train, run.n_params,
                         run.seconds, time.perf_counter() - t0))
    print(f"\nbits per held-out character ({a.steps} steps, dropout {a.dropout}, keep bias {keep_bias}, "
          f"dynamic lr {a.dyn_lr:g})")
    print(f"{'':32s} {'static':>7s} {'dynamic':>8s} {'train':>7s} {'params':>8s} {'train s':>8s} {'eval s':>7s}")
    for name, static, dynamic, train, params, secs, eval_secs in rows:
        print(f"{name:32s} {static:7.3f} {dynamic:8.3f} {train:7.3f} {params:8,d} {secs:8.0f} {eval_secs:7.0f}")
    xz = compressed_bits_per_char(data.heldout_text, "xz")
    for name, value in (("gzip", compressed_bits_per_char(data.heldout_text, "gzip")), ("xz", xz),
                        ("xz after the training text",
                         compressed_bits_per_char(data.heldout_text, "xz", context=data.train_text))):
        print(f"{name:32s} {value:7.3f}")
    lstm = [r for r in rows if r[0].startswith("LSTM")]
    if lstm:
        best = min(r[2] for r in lstm)
        print(f"best LSTM (dynamic) {best:.3f} vs xz {xz:.3f}: {'MET' if best < xz else 'NOT MET'}")


if __name__ == "__main__":
    main()
