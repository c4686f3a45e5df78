"""The run directory lock: one live run per directory; a resume refuses (after waiting) while
another process holds it, and names that process."""

from __future__ import annotations

import os

import pytest

from archopt.errors import UserError
from archopt.train.runlock import RunLock

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock")


def test_exclusive_refuses_a_second_holder(tmp_path):
    with RunLock(tmp_path).acquire():
        with pytest.raises(UserError) as err:
            RunLock(tmp_path).acquire(wait_s=0.2)
        assert f"pid {os.getpid()}" not in str(err.value)  # our own pid is not "another"
        assert "another archopt process" in str(err.value)
    RunLock(tmp_path).acquire().release()  # released: free again


def test_shared_holders_block_an_exclusive_one(tmp_path):
    launcher = RunLock(tmp_path).acquire()
    launcher.share()
    worker = RunLock(tmp_path).acquire(shared=True)  # workers share the launcher's lock
    launcher.release()  # the launcher is gone, a worker is left
    with pytest.raises(UserError, match="--resume"):
        RunLock(tmp_path).acquire(wait_s=0.3)
    worker.release()
    RunLock(tmp_path).acquire().release()
