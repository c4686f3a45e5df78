"""Micro-batching: concurrent requests share model calls, each gets its own rows back, a full
queue refuses instead of growing, a model error answers only its own batch."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from archopt.serve.batcher import MicroBatcher, Overloaded


def run(coro):
    return asyncio.run(coro)


def double(x: np.ndarray, lengths=None) -> np.ndarray:
    return x * 2


async def many(batcher: MicroBatcher, sizes: list[int]) -> list[np.ndarray]:
    batcher.start()
    try:
        xs = [np.full((n, 3), i, dtype=np.float32) for i, n in enumerate(sizes)]
        outs = await asyncio.gather(*(batcher.submit(x) for x in xs))
        for x, out in zip(xs, outs):
            assert np.array_equal(out, x * 2)  # each request gets its own rows
        return outs
    finally:
        await batcher.stop()


def test_concurrent_requests_share_model_calls() -> None:
    sizes = []
    run(many(MicroBatcher(double, max_batch=64, max_wait_ms=50, on_batch=sizes.append),
             [1] * 20))
    assert sum(sizes) == 20 and len(sizes) < 20 and max(sizes) > 1


def test_without_a_wait_requests_queued_while_the_model_runs_share_the_next_call() -> None:
    """The default (max_wait_ms=0): a lone request runs at once; the ones that arrive while the
    model is busy with it go together in the next call."""
    started, gate, sizes = threading.Event(), threading.Event(), []

    def gated(x, lengths=None):
        started.set()
        gate.wait(5)
        return x * 2

    async def go():
        b = MicroBatcher(gated, max_batch=64, on_batch=sizes.append)
        assert b.max_wait == 0.0
        b.start()
        try:
            first = asyncio.ensure_future(b.submit(np.ones((1, 3), np.float32)))
            await asyncio.to_thread(started.wait, 5)  # the model is busy with the first alone
            rest = [asyncio.ensure_future(b.submit(np.full((1, 3), i, np.float32)))
                    for i in range(7)]
            await asyncio.sleep(0.05)
            gate.set()
            outs = await asyncio.gather(first, *rest)
            assert [float(o[0, 0]) for o in outs] == [2.0] + [2.0 * i for i in range(7)]
        finally:
            await b.stop()

    run(go())
    assert sizes == [1, 7]


def test_max_batch_bounds_a_call_and_one_turns_batching_off() -> None:
    sizes = []
    run(many(MicroBatcher(double, max_batch=5, max_wait_ms=20, on_batch=sizes.append),
             [2, 2, 2, 2, 9, 1]))
    assert sum(sizes) == 18 and 9 in sizes  # a larger request runs alone
    assert all(s <= 5 for s in sizes if s != 9)
    sizes.clear()
    run(many(MicroBatcher(double, max_batch=1, max_wait_ms=20, on_batch=sizes.append), [1] * 6))
    assert sizes == [1] * 6


def test_full_queue_is_refused() -> None:
    gate = threading.Event()

    def slow(x, lengths=None):
        gate.wait(5)
        return x

    async def go():
        b = MicroBatcher(slow, max_batch=1, max_wait_ms=0, max_queue=2)
        b.start()
        first = asyncio.ensure_future(b.submit(np.zeros((1, 1))))
        await asyncio.sleep(0.05)  # the first is in the model; two more fill the queue
        waiting = [asyncio.ensure_future(b.submit(np.zeros((1, 1)))) for _ in range(2)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded):
            await b.submit(np.zeros((1, 1)))
        gate.set()
        await asyncio.gather(first, *waiting)
        await b.stop()

    run(go())


def test_model_error_fails_its_batch_only() -> None:
    def picky(x, lengths=None):
        if (x < 0).any():
            raise ValueError("negative")
        return x

    async def go():
        b = MicroBatcher(picky, max_batch=1, max_wait_ms=0)
        b.start()
        with pytest.raises(ValueError):
            await b.submit(-np.ones((1, 1)))
        assert (await b.submit(np.ones((1, 1))))[0, 0] == 1  # still serving
        await b.stop()

    run(go())
