import os
import random

import numpy as np
import pytest
import torch

from course_lib.env import autocast_dtype, choose_device, env_report, seed_everything, set_threads


def test_seed_everything_reproduces_all_rngs():
    g = seed_everything(7)
    a = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g))
    g = seed_everything(7)
    b = (random.random(), np.random.rand(), torch.rand(3), torch.rand(2, generator=g))
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])
    with pytest.raises(ValueError, match="non-negative int"):
        seed_everything(-1)


def test_device_choice_on_this_machine(monkeypatch):
    monkeypatch.delenv("COURSE_DEVICE", raising=False)
    dev = choose_device()
    assert dev.type == ("cuda" if torch.cuda.is_available() else dev.type)
    assert choose_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert choose_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            choose_device("cuda")
        assert autocast_dtype(torch.device("cpu")) is None


def test_env_report_one_line():
    line = env_report(torch.device("cpu"))
    assert "\n" not in line
    assert line.startswith(f"torch {torch.__version__} | device cpu | threads {torch.get_num_threads()}")


def test_set_threads():
    assert set_threads(1) == 1 and torch.get_num_threads() == 1
    with pytest.raises(ValueError):
        set_threads(0)


def test_single_thread_env_one_place():
    from course_lib.env import single_thread_env

    assert single_thread_env() == {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    quiet = single_thread_env(headless=True)
    assert quiet["COURSE_PROGRESS"] == "0" and quiet["COURSE_LIVE_PLOT"] == "0"
    # the test-suite itself runs in it (tests/conftest.py)
    assert all(os.environ[k] == v for k, v in quiet.items())
