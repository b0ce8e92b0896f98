"""Run by tests/test_train.py under ``torchrun --nproc_per_node=2``: ``fit`` on two CPU processes (gloo),
the model in ``DistributedDataParallel``, the data split by a shuffling ``DistributedSampler``.

Three runs in one process group: the whole run (8 steps = 2 epochs); the first 5 steps with
checkpoints; and a resume of that checkpoint to step 8. Each process writes what it saw to
``OUT/rank<r>.json``: its losses, the final parameters, and how many checkpoints, progress bars and
live plots it made (fit's own ``atomic_save``, tqdm and ``_LivePlot`` are wrapped to count them).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import tqdm.auto
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import course_lib.train as train

N, PER_RANK, STEPS, RESUME_AT = 64, 8, 8, 5   # 2 processes x 8 = a global batch of 16: 4 steps per epoch


def dataset() -> TensorDataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, 4, generator=g)
    return TensorDataset(x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * torch.randn(N, 1, generator=g))


def new_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))


def loss_fn(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
    x, y = batch
    return nn.functional.mse_loss(model(x), y), len(y)


FIT = dict(log_every=1, clip_grad_norm=1.0, device="cpu", amp=False, val_every=4, progress=True,
           live_plot=True, plot_every=1)
COUNTS = {"checkpoints": 0, "bars": 0, "plots": 0}


def main(out: Path) -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()

    real_save, real_bar = train.atomic_save, tqdm.auto.tqdm

    def counting_save(obj, path):
        COUNTS["checkpoints"] += 1
        real_save(obj, path)

    class CountingBar(real_bar):
        def __init__(self, *a, **k):
            COUNTS["bars"] += 1
            super().__init__(*a, disable=True, **k)

    class CountingPlot:
        def __init__(self):
            COUNTS["plots"] += 1

        def update(self, history):
            pass

    train.atomic_save, tqdm.auto.tqdm, train._LivePlot = counting_save, CountingBar, CountingPlot

    ds = dataset()
    val = DataLoader(ds, batch_size=32)

    def run(steps: int, checkpoint: Path | None) -> tuple[train.History, nn.Module]:
        model = DistributedDataParallel(new_model())
        loader = DataLoader(ds, batch_size=PER_RANK, sampler=DistributedSampler(ds, shuffle=True, seed=0))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        return train.fit(model, loss_fn, loader, opt, steps=steps, val_loader=val, checkpoint_path=checkpoint,
                         checkpoint_every=2 if checkpoint else None, **FIT), model

    whole, model = run(STEPS, None)
    ckpt = out / "fit.pt"
    run(RESUME_AT, ckpt)
    resumed, resumed_model = run(STEPS, ckpt)   # fit waits for rank 0's checkpoint before it returns
    result = {
        "rank": rank, "world": dist.get_world_size(), "counts": COUNTS,
        "whole": {"train_loss": whole.train_loss, "val_loss": whole.val_loss, "steps": whole.steps_done,
                  "epochs": whole.epochs_done},
        "resumed": {"train_loss": resumed.train_loss, "resumed_from": resumed.resumed_from},
        "params": [p.detach().flatten().tolist() for p in model.parameters()],
        "resumed_params": [p.detach().flatten().tolist() for p in resumed_model.parameters()],
    }
    (out / f"rank{rank}.json").write_text(json.dumps(result))
    dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
