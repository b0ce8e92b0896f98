"""Benchmark for lectures 3-4: the hand-built Elman RNN against ``nn.RNN``, and the character
language model's held-out bits per character against ``xz`` / ``gzip`` on the same text.

1. Speed: forward + backward of ``course_lib.models.rnn.ElmanRNN`` (a Python loop over time)
   and of ``torch.nn.RNN`` (one fused call) with the same weights, batch 64, time 100, hidden 256,
   on CPU; the ratio hand / nn.RNN is printed (and the masked variant of the hand RNN).
2. Compression: trains lecture 3's character RNN on Python standard-library source (the full-mode
   settings by default; the checkpoint is shared with the lecture through the course cache, so
   whichever runs first trains and the other reloads), then prints its held-out bits per character
   next to what ``lzma`` (xz) and ``zlib`` (gzip) need per character of the same held-out text.

    OMP_NUM_THREADS=1 python benchmarks/rnn.py                 # both parts
    OMP_NUM_THREADS=1 python benchmarks/rnn.py --only speed
    python benchmarks/rnn.py --only lm --device cuda           # train on a GPU
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib.data.chars import CharWindows, char_lm_data, compressed_bits_per_char  # noqa: E402
from course_lib.data.corpora import cache_dir, fingerprint  # noqa: E402
from course_lib.lm import CharRNNLM, bits_per_char, char_lm_loss  # noqa: E402
from course_lib.models.rnn import ElmanRNN  # noqa: E402
from course_lib.train import fit, make_loader  # noqa: E402


def time_fwd_bwd(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` (which runs forward + backward) over ``repeats`` runs after 2 warm-ups."""
    for _ in range(2):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def speed(batch: int, time_steps: int, input_size: int, hidden: int, repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    ref = nn.RNN(input_size, hidden, batch_first=True)
    hand = ElmanRNN.from_torch(ref)
    x = torch.randn(batch, time_steps, input_size)
    mask = torch.ones(batch, time_steps, dtype=torch.bool)
    mask[batch // 2:, time_steps // 2:] = False  # half the batch is half padding

    def run_ref():
        out, _ = ref(x)
        out.sum().backward()

    def run_hand():
        out, _ = hand(x)
        out.sum().backward()

    def run_hand_masked():
        out, _ = hand(x, mask=mask)
        out.sum().backward()

    with torch.no_grad():
        diff = float((hand(x)[0] - ref(x)[0]).abs().max())
    res = {"nn.RNN": time_fwd_bwd(run_ref, repeats), "hand ElmanRNN": time_fwd_bwd(run_hand, repeats),
           "hand ElmanRNN, masked": time_fwd_bwd(run_hand_masked, repeats)}
    print(f"forward + backward, batch {batch}, time {time_steps}, input {input_size}, hidden {hidden}, "
          f"{torch.get_num_threads()} thread(s); outputs agree to {diff:.1e}")
    for name, secs in res.items():
        print(f"  {name:24s} {secs * 1000:8.1f} ms   ({secs / res['nn.RNN']:.2f} x nn.RNN)")
    return res


def lm(max_chars: int, hidden: int, seq_len: int, batch: int, steps: int, lr: float, device: str | None,
       text_file: str | None) -> dict[str, float]:
    text = Path(text_file).read_text() if text_file else None
    data = char_lm_data(max_chars, heldout_fraction=0.1, text=text[:max_chars] if text else None)
    # the same config and file name as lecture 3, so the two share one trained model
    config = {"chars": max_chars, "hidden": hidden, "seq": seq_len, "batch": batch, "steps": steps, "lr": lr, "v": 1}
    ckpt = cache_dir() / f"lecture03_charlm_{fingerprint(config)}.pt"
    torch.manual_seed(0)
    model = CharRNNLM(len(data.vocab), hidden)
    dev = torch.device(device) if device else None
    loader = make_loader(CharWindows(data.train_ids, seq_len), batch, shuffle=True, seed=0, device=dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)
    t0 = time.perf_counter()
    hist = fit(model, char_lm_loss, loader, opt, steps=steps, scheduler=sched, clip_grad_norm=1.0, device=dev,
               checkpoint_path=ckpt, progress=False, live_plot=False, log_every=100)
    train_s = time.perf_counter() - t0
    model = model.cpu().float().eval()
    res = {
        "char RNN": bits_per_char(model, data.heldout_ids),
        "xz, held-out text alone": compressed_bits_per_char(data.heldout_text, "xz"),
        "xz after reading the training text": compressed_bits_per_char(data.heldout_text, "xz",
                                                                        context=data.train_text),
        "gzip, held-out text alone": compressed_bits_per_char(data.heldout_text, "gzip"),
    }
    print(f"character LM: {len(data.train_text):,} training / {len(data.heldout_text):,} held-out characters, "
          f"hidden {hidden}, {hist.steps_done} steps "
          f"({'reloaded' if hist.resumed_from == steps else f'{train_s:.0f} s'}),"
          f" checkpoint {ckpt}")
    for name, bpc in res.items():
        print(f"  {name:36s} {bpc:6.3f} bits/char")
    print(f"  char RNN / xz: {res['char RNN'] / res['xz, held-out text alone']:.2f}")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["speed", "lm"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--chars", type=int, default=2_000_000)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--device", default=None, help="training device (default: course_lib's choice)")
    ap.add_argument("--text-file", default=None, help="train on this text instead of the stdlib sources")
    a = ap.parse_args()
    if a.only in (None, "speed"):
        speed(64, 100, 256, 256, a.repeats)
    if a.only in (None, "lm"):
        lm(a.chars, a.hidden, a.seq_len, a.batch, a.steps, a.lr, a.device, a.text_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
