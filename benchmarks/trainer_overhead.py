"""How much does ``course_lib.train.fit`` cost over a plain hand-written training loop?

Same model, same data, same number of steps, in one run; the two are interleaved and
repeated, and the median of each is compared (and the median of the ratios of interleaved pairs).
Target: overhead <= 3 %.

    OMP_NUM_THREADS=1 python benchmarks/trainer_overhead.py [--steps 300] [--repeats 5] [--device cuda]
        [--clock cpu]

``--clock cpu`` times with this process's CPU time instead of the wall clock: on a machine shared
with other work (one thread each), the CPU time a loop costs is what the comparison is about.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from torch import nn

from course_lib.env import choose_device, env_report, seed_everything
from course_lib.train import fit, make_loader, move_to


class CharLM(nn.Module):
    """A small character LSTM language model: ids (batch, time) -> logits (batch, time, vocab)."""

    def __init__(self, vocab: int = 96, embed: int = 64, hidden: int = 256):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(self.embed(x))[0])


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    x, y = batch
    logits = model(x)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def make(device: torch.device, n: int, batch: int, time_steps: int):
    seed_everything(0)
    data = torch.randint(0, 96, (n, time_steps + 1))
    ds = torch.utils.data.TensorDataset(data[:, :-1], data[:, 1:])
    model = CharLM().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    return model, opt, make_loader(ds, batch, shuffle=True, device=device)


CLOCK = time.perf_counter


def plain_loop(device, steps, batch, time_steps, clip):
    model, opt, loader = make(device, steps * batch, batch, time_steps)
    dtype = torch.bfloat16 if device.type == "cuda" else None
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = CLOCK()
    model.train()
    for b in loader:
        b = move_to(b, device, non_blocking=device.type == "cuda")
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(model, b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    final = float(loss.detach())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return CLOCK() - t0, final


def with_fit(device, steps, batch, time_steps, clip):
    model, opt, loader = make(device, steps * batch, batch, time_steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = CLOCK()
    h = fit(model, loss_fn, loader, opt, steps=steps, clip_grad_norm=clip, device=device, progress=False,
            live_plot=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return CLOCK() - t0, h.last_train_loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--time", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default=None)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    if "OMP_NUM_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    device = choose_device(a.device)
    print(env_report(device))
    print(f"model: char LSTM (embed 64, hidden 256, vocab 96), batch {a.batch} x time {a.time}, "
          f"{a.steps} steps, clip 1.0, {a.repeats} interleaved repeats, {a.clock} clock")
    with_fit(device, 10, a.batch, a.time, 1.0)  # warm-up
    plain_loop(device, 10, a.batch, a.time, 1.0)
    t_plain, t_fit = [], []
    for _ in range(a.repeats):
        t, _ = plain_loop(device, a.steps, a.batch, a.time, 1.0)
        t_plain.append(t)
        t, _ = with_fit(device, a.steps, a.batch, a.time, 1.0)
        t_fit.append(t)
    mp, mf = statistics.median(t_plain), statistics.median(t_fit)
    print(f"plain loop: median {mp:.3f} s  ({a.steps / mp:.1f} steps/s)  all: {[round(t, 3) for t in t_plain]}")
    print(f"fit():      median {mf:.3f} s  ({a.steps / mf:.1f} steps/s)  all: {[round(t, 3) for t in t_fit]}")
    print(f"ratio fit/plain = {mf / mp:.4f}  (overhead {100 * (mf / mp - 1):+.2f} %, target <= +3 %)")
    pairs = statistics.median(f / p for f, p in zip(t_fit, t_plain))
    print(f"median of the interleaved pairs' ratios = {pairs:.4f}  (overhead {100 * (pairs - 1):+.2f} %)")


if __name__ == "__main__":
    main()
