"""Dynamic micro-batching: concurrent requests are merged into one model call.

Requests wait in a bounded queue (``Overloaded`` when it is full: the app answers 503, memory
stays bounded). One worker task takes the oldest request, then keeps taking requests until the
batch holds ``max_batch`` examples or ``max_wait_ms`` has passed since the first, runs the model
once in a worker thread (the event loop keeps accepting requests meanwhile), and hands each
request its rows. ``max_batch=1`` turns batching off: one request per model call.

The default wait is 0: a batch is the oldest request plus those already queued, i.e. the ones
that arrived while the model was busy with the previous batch. A lone request never waits, and
batches grow by themselves with the load and the model's cost (benchmarks/serve/load.py: a fixed
2 ms wait cost 30% of the requests/s at one client and gained little at 32).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np


class Overloaded(Exception):
    """The queue is full."""


@dataclass
class _Item:
    x: np.ndarray
    lengths: np.ndarray | None
    future: asyncio.Future


class MicroBatcher:
    """Merge concurrent ``submit`` calls into batches for ``predict(x, lengths)``.

    Args:
        predict: the model, on numpy batches.
        max_batch: most examples per model call (a larger request runs alone).
        max_wait_ms: how long the first request of a batch waits for others (0: it takes
            only the requests already waiting).
        max_queue: most requests waiting; beyond it ``submit`` raises ``Overloaded``.
        on_batch: called with each batch's size (metrics).
    """

    def __init__(self, predict: Callable[[np.ndarray, np.ndarray | None], np.ndarray],
                 max_batch: int = 64, max_wait_ms: float = 0.0, max_queue: int = 256,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.predict, self.max_batch = predict, max(1, max_batch)
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.queue: asyncio.Queue[_Item] = asyncio.Queue(maxsize=max_queue)
        self.on_batch = on_batch or (lambda n: None)
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="archopt-model")
        self.task: asyncio.Task | None = None
        self._carry: _Item | None = None  # a request that did not fit the last batch

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker (after in-flight requests: uvicorn drains connections first)."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self.executor.shutdown(wait=True)

    @property
    def waiting(self) -> int:
        return self.queue.qsize() + (self._carry is not None)

    async def submit(self, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """The model's outputs for ``x``, computed in some batch; ``Overloaded`` when full."""
        future = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait(_Item(x, lengths, future))
        except asyncio.QueueFull:
            raise Overloaded from None
        return await future

    async def _next(self, timeout: float | None) -> _Item | None:
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        if timeout is None:
            return await self.queue.get()
        if timeout <= 0:
            return None if self.queue.empty() else self.queue.get_nowait()
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def _gather(self) -> list[_Item]:
        """The oldest request plus whatever arrives before the batch is full or time is up."""
        loop = asyncio.get_running_loop()
        first = await self._next(None)
        items, n = [first], len(first.x)
        deadline = loop.time() + self.max_wait
        while n < self.max_batch:
            item = await self._next(deadline - loop.time())
            if item is None:
                break
            if n + len(item.x) > self.max_batch:
                self._carry = item
                break
            items.append(item)
            n += len(item.x)
        return items

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [i for i in await self._gather() if not i.future.done()]
            if not items:
                continue
            x = np.concatenate([i.x for i in items])
            lengths = (np.concatenate([i.lengths for i in items])
                       if items[0].lengths is not None else None)
            self.on_batch(len(x))
            try:
                out = await loop.run_in_executor(self.executor, self.predict, x, lengths)
            except Exception as exc:  # a model failure answers its requests (500), not the loop
                for i in items:
                    if not i.future.done():
                        i.future.set_exception(exc)
                continue
            start = 0
            for i in items:
                if not i.future.done():
                    i.future.set_result(out[start:start + len(i.x)])
                start += len(i.x)
