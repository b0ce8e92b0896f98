"""Hand-built LSTM (course_lib.models.gated.LSTM) vs torch.nn.LSTM: forward + backward time.

    OMP_NUM_THREADS=1 python benchmarks/lstm.py            # CPU, batch 64, time 100, hidden 256
    python benchmarks/lstm.py --device cuda --compile      # GPU: vs cuDNN, hand LSTM under torch.compile

Target (issue 6): ratio hand / nn.LSTM <= 1.3 on CPU; <= 1.5 on a GPU with torch.compile.
The hand LSTM computes b + U x_t for all steps in one matrix product, then per step one fused product
h W^T for all four gates, with no per-step indexing copies (``unbind`` gives views).
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from course_lib.check import compare
from course_lib.models.gated import LSTM


def _time_pair(fn_a, fn_b, device: torch.device, repeats: int, warmup: int) -> tuple[list[float], list[float]]:
    """Time two functions alternately (a, b, a, b, ...), so a busy machine slows both alike."""
    def once(fn):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    for _ in range(warmup):
        fn_a()
        fn_b()
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(once(fn_a))
        tb.append(once(fn_b))
    return ta, tb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--time", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--compile", action="store_true", help="wrap the hand LSTM in torch.compile")
    a = ap.parse_args()
    device = torch.device(a.device)
    if device.type == "cpu":
        torch.set_num_threads(max(1, torch.get_num_threads()))
    torch.manual_seed(0)
    ref = nn.LSTM(a.hidden, a.hidden, batch_first=True).to(device)
    hand = LSTM.from_torch(ref).to(device)
    x = torch.randn(a.batch, a.time, a.hidden, device=device)
    with torch.no_grad():
        # cuDNN may use TF32 matrix products, so the GPU check is looser
        tol = 1e-5 if device.type == "cpu" else 2e-3
        compare(hand(x)[0], ref(x)[0], name="hand LSTM outputs vs nn.LSTM", atol=tol, rtol=100 * tol)
    run_hand = torch.compile(hand) if a.compile else hand

    def step(model):
        def fn():
            model.zero_grad(set_to_none=True)
            out = model(x)[0]
            out.square().mean().backward()
        return fn

    t_ref, t_hand = _time_pair(step(ref), step(run_hand), device, a.repeats, warmup=3)
    med_ref, med_hand = statistics.median(t_ref), statistics.median(t_hand)
    gpu = f" | {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"device {device} | threads {torch.get_num_threads()} | batch {a.batch} time {a.time} hidden {a.hidden}"
          f" | torch {torch.__version__}{gpu}")
    print(f"nn.LSTM  forward+backward: median {med_ref * 1000:8.2f} ms  (min {min(t_ref) * 1000:.2f})")
    print(f"hand LSTM{' (compiled)' if a.compile else ''} forward+backward: median {med_hand * 1000:8.2f} ms  "
          f"(min {min(t_hand) * 1000:.2f})")
    target = 1.3 if device.type == "cpu" else 1.5
    ratio = statistics.median(h / r for h, r in zip(t_hand, t_ref))  # per interleaved pair
    print(f"ratio hand / nn.LSTM (median over interleaved pairs): {ratio:.2f}  (target <= {target}) -> "
          f"{'MET' if ratio <= target else 'NOT MET'}")


if __name__ == "__main__":
    main()
