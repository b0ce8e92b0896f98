import math

import numpy as np

import pytest
import torch
from torch import nn

from course_lib.env import seed_everything
from course_lib.train import History, evaluate_loss, fit, make_loader, move_to


def _problem(shuffle_seed=None):
    seed_everything(0)
    x = torch.randn(200, 5)
    y = (x.sum(1) > 0).long()
    ds = torch.utils.data.TensorDataset(x, y)
    model = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loader = make_loader(ds, 16, shuffle=True, device=torch.device("cpu"), seed=shuffle_seed)
    return model, opt, loader


def loss_fn(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


def test_fixed_steps_and_epochs_learn():
    model, opt, loader = _problem()
    h = fit(model, loss_fn, loader, opt, steps=30, device="cpu", log_every=10, progress=False)
    assert h.steps_done == 30 and h.step == [10, 20, 30] and len(h.train_loss) == 3
    model, opt, loader = _problem()
    h = fit(model, loss_fn, loader, opt, epochs=4, device="cpu", val_loader=loader, progress=False)
    assert h.epochs_done == 4 and h.steps_done == 4 * 13
    assert h.val_step == [13, 26, 39, 52]
    assert h.val_loss[-1] < 0.35 < h.val_loss[0] + 0.3  # it learns: 0.69 at chance
    assert h.train_loss[-1] < h.train_loss[0]


def test_clipping_bounds_the_update():
    model, _, loader = _problem()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    big = lambda m, b: 1000.0 * loss_fn(m, b)  # noqa: E731 - a huge gradient
    h = fit(model, big, loader, opt, steps=1, clip_grad_norm=0.5, device="cpu", log_every=1, progress=False)
    assert h.grad_norm[0] > 100  # the logged norm is the one before clipping
    step = torch.sqrt(sum(((p - b) ** 2).sum() for p, b in zip(model.parameters(), before)))
    assert step.item() == pytest.approx(0.5, rel=1e-4)


@pytest.mark.parametrize("shuffle_seed", [None, 3])
def test_checkpoint_resume_is_exact(tmp_path, shuffle_seed):
    ref, opt, loader = _problem(shuffle_seed)
    h_ref = fit(ref, loss_fn, loader, opt, steps=50, device="cpu", val_loader=loader, progress=False)

    ckpt = tmp_path / "run.pt"
    model, opt, loader = _problem(shuffle_seed)
    fit(model, loss_fn, loader, opt, steps=23, device="cpu", val_loader=loader, checkpoint_path=ckpt,
        checkpoint_every=23, progress=False)
    model, opt, loader = _problem(shuffle_seed)
    torch.manual_seed(12345)  # whatever happened in between must not matter
    h = fit(model, loss_fn, loader, opt, steps=50, device="cpu", val_loader=loader, checkpoint_path=ckpt,
            progress=False)
    assert h.resumed_from == 23 and h.steps_done == 50
    for p, q in zip(ref.parameters(), model.parameters()):
        assert torch.equal(p, q)
    assert h.train_loss == h_ref.train_loss
    resumed_val = dict(zip(h.val_step, h.val_loss))
    assert all(resumed_val[s] == v for s, v in zip(h_ref.val_step, h_ref.val_loss))


def test_ctrl_c_keeps_last_checkpoint_and_returns_history(tmp_path):
    model, opt, loader = _problem()
    ckpt = tmp_path / "run.pt"

    def interrupt(step, loss):
        if step == 17:
            raise KeyboardInterrupt

    h = fit(model, loss_fn, loader, opt, steps=100, device="cpu", checkpoint_path=ckpt, checkpoint_every=10,
            on_step=interrupt, log_every=5, progress=False)
    assert h.interrupted and h.steps_done == 17 and h.step == [5, 10, 15]
    saved = torch.load(ckpt, weights_only=False)
    assert saved["step"] == 10  # the last complete checkpoint, untouched
    h2 = fit(model, loss_fn, loader, opt, steps=20, device="cpu", checkpoint_path=ckpt, progress=False)
    assert h2.resumed_from == 10 and h2.steps_done == 20 and not h2.interrupted


def test_weighted_validation_loss():
    model = nn.Linear(1, 1, bias=False)
    batches = [(torch.tensor(1.0), 1), (torch.tensor(4.0), 3)]
    loss = evaluate_loss(model, lambda m, b: (b[0], b[1]), batches, device=torch.device("cpu"))
    assert loss == pytest.approx((1 * 1 + 4 * 3) / 4)


def test_bf16_autocast_on_cpu_when_asked():
    model, opt, loader = _problem()
    h = fit(model, loss_fn, loader, opt, steps=5, device="cpu", amp="bf16", log_every=5, progress=False)
    assert math.isfinite(h.train_loss[0])


def test_bad_arguments_are_clear():
    model, opt, loader = _problem()
    with pytest.raises(ValueError, match="fixed length"):
        fit(model, loss_fn, loader, opt, device="cpu")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        fit(model, loss_fn, loader, opt, steps=0, device="cpu")
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint_path"):
        fit(model, loss_fn, loader, opt, steps=1, checkpoint_every=1, device="cpu")
    with pytest.raises(ValueError, match="scalar tensor"):
        fit(model, lambda m, b: m(b[0]), loader, opt, steps=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, loss_fn, [], opt, epochs=1, device="cpu", progress=False)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(model, lambda m, b: loss_fn(m, b) * float("nan"), loader, opt, steps=1, device="cpu", progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        make_loader([1, 2], 0)


def test_move_to_nested():
    b = {"x": torch.ones(2), "pair": (torch.zeros(1), [torch.ones(1)]), "n": 3}
    out = move_to(b, torch.device("cpu"))
    assert out["n"] == 3 and isinstance(out["pair"], tuple) and isinstance(out["pair"][1], list)


def test_history_repr():
    assert "interrupted" in repr(History(interrupted=True))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_uses_bf16_and_pinned_memory(tmp_path):
    model, opt, _ = _problem()
    x = torch.randn(256, 5)
    ds = torch.utils.data.TensorDataset(x, (x.sum(1) > 0).long())
    loader = make_loader(ds, 32, shuffle=True, device=torch.device("cuda"))
    assert loader.pin_memory
    seen = []

    def lf(m, b):
        out = m(b[0])
        seen.append((out.dtype, b[0].device.type))
        return nn.functional.cross_entropy(out, b[1])

    h = fit(model, lf, loader, opt, epochs=3, device="cuda", val_loader=loader, checkpoint_path=tmp_path / "c.pt",
            checkpoint_every=5, progress=False)
    assert seen[0] == (torch.bfloat16, "cuda")
    assert h.val_loss[-1] < h.val_loss[0]
    assert torch.load(tmp_path / "c.pt", weights_only=False)["step"] == h.steps_done


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="needs torch.distributed with the gloo backend")
def test_fit_under_torchrun_matches_one_process(tmp_path):
    """fit runs unchanged under torchrun: 2 CPU processes (gloo), DDP and a shuffling DistributedSampler.

    The processes' mean loss equals one process's loss on the same global batches (16 items: 8 per
    process), so do the parameters; only rank 0 writes checkpoints and shows a bar and a live plot;
    a run resumed from rank 0's checkpoint continues exactly."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    import torchrun_fit as w  # tests/torchrun_fit.py, the script each process runs

    script = Path(__file__).with_name("torchrun_fit.py")
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))

    # one process, the same global batches: epoch e is DistributedSampler's permutation with seed 0 + e
    ds = w.dataset()
    batches = []
    for epoch in range(2):
        perm = torch.randperm(w.N, generator=torch.Generator().manual_seed(epoch))
        batches += [ds[perm[k:k + 2 * w.PER_RANK]] for k in range(0, w.N, 2 * w.PER_RANK)]
    model = w.new_model()
    one = fit(model, w.loss_fn, batches, torch.optim.SGD(model.parameters(), lr=0.1), steps=w.STEPS,
              val_loader=torch.utils.data.DataLoader(ds, batch_size=32),
              **{**w.FIT, "progress": False, "live_plot": False})

    mean_loss = [(a + b) / 2 for a, b in zip(r0["whole"]["train_loss"], r1["whole"]["train_loss"])]
    assert r0["world"] == 2 and r0["whole"]["steps"] == w.STEPS  # two epochs of 4 global batches
    np.testing.assert_allclose(mean_loss, one.train_loss, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(r0["whole"]["val_loss"], one.val_loss, rtol=1e-5, atol=1e-6)
    for p_ddp, p_one in zip(r0["params"], model.parameters()):
        np.testing.assert_allclose(p_ddp, p_one.detach().flatten().numpy(), rtol=1e-5, atol=1e-6)
    assert r0["params"] == r1["params"], "DDP keeps the processes' parameters identical"

    assert r0["counts"] == {"checkpoints": 6, "bars": 3, "plots": 3}, r0["counts"]   # 2 runs x (2 + final)
    assert r1["counts"] == {"checkpoints": 0, "bars": 0, "plots": 0}, "only rank 0 writes and shows"

    assert r0["resumed"]["resumed_from"] == r1["resumed"]["resumed_from"] == w.RESUME_AT
    assert r0["resumed"]["train_loss"] == r0["whole"]["train_loss"], "resume continues exactly"
    assert r1["resumed"]["train_loss"][w.RESUME_AT:] == r1["whole"]["train_loss"][w.RESUME_AT:]
    assert r0["resumed_params"] == r0["params"]
