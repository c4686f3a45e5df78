"""Checkpoint files: atomic, weights_only loadable, RNG states, corrupt files named."""

import random

import numpy as np
import pytest
import torch

from archopt.errors import UserError
from archopt.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state


def test_round_trip_with_optimizer_and_rng(tmp_path):
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(m.parameters())
    m(torch.randn(4, 3)).sum().backward()
    opt.step()
    gen = torch.Generator().manual_seed(5)
    save_checkpoint(tmp_path / "c.pt", {"model": m.state_dict(), "opt": opt.state_dict(),
                                        "rng": rng_state(gen), "epoch": 3})
    # draws after the save ...
    want = (torch.rand(3), random.random(), np.random.rand(), torch.rand(2, generator=gen))
    state = load_checkpoint(tmp_path / "c.pt")
    set_rng_state(state["rng"], gen)
    got = (torch.rand(3), random.random(), np.random.rand(), torch.rand(2, generator=gen))
    # ... are drawn again after restoring the states
    assert torch.equal(want[0], got[0]) and want[1] == got[1] and want[2] == got[2]
    assert torch.equal(want[3], got[3])
    assert state["epoch"] == 3 and torch.equal(state["model"]["weight"], m.weight)


def test_truncated_checkpoint_is_a_user_error_naming_the_file(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"x": torch.zeros(1000)})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError) as e:
        load_checkpoint(path)
    assert e.value.where == str(path) and "corrupt or truncated" in e.value.what
    assert path.read_bytes() == data[: len(data) // 2]  # untouched


def test_garbage_and_missing_checkpoints(tmp_path):
    (tmp_path / "g.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(tmp_path / "g.pt")
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")


def test_background_writes_land_in_order_and_errors_surface(tmp_path):
    from archopt.train.checkpoint import wait_for_writes

    for i in range(6):
        save_checkpoint(tmp_path / "last.pt", {"i": i}, background=True)
    wait_for_writes()
    assert load_checkpoint(tmp_path / "last.pt")["i"] == 5
    (tmp_path / "file").write_text("")
    save_checkpoint(tmp_path / "file" / "x.pt", {"i": 0}, background=True)  # parent is a file
    with pytest.raises(OSError):
        wait_for_writes()
    wait_for_writes()  # the error is reported once
