"""The background batcher: a bounded in-memory queue drained by one daemon thread.

Traces are serialized when they are recorded (so later changes to the caller's objects do not leak
in, and their size is known) and queued. The thread sends a batch when ``max_batch_size`` traces
wait, when ``flush_interval`` seconds passed since the oldest one arrived, on ``flush()``, and at
shutdown. A batch never holds more than ``max_batch_size`` traces nor ``max_batch_bytes`` bytes.

Drop policy: the queue holds at most ``max_queue_size`` traces and ``max_queue_bytes`` bytes; a
trace recorded while it is full is dropped (the newest is dropped, what is queued keeps its place)
and counted in ``dropped``. Recording never blocks the caller and never raises.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Callable, Deque


@dataclass
class Counters:
    """What happened to recorded traces. ``queued`` is what waits right now."""

    sent: int = 0
    dropped: int = 0
    dropped_oversize: int = 0
    rejected: int = 0
    failed: int = 0


class Batcher:
    def __init__(
        self,
        send: Callable[[list[bytes]], None],
        *,
        max_queue_size: int,
        max_queue_bytes: int,
        max_batch_size: int,
        max_batch_bytes: int,
        flush_interval: float,
        counters: Counters,
    ) -> None:
        self._send = send
        self._max_queue_size = max_queue_size
        self._max_queue_bytes = max_queue_bytes
        self._max_batch_size = max(1, min(max_batch_size, max_queue_size))
        self._max_batch_bytes = max_batch_bytes
        self._flush_interval = flush_interval
        self.counters = counters
        self._queue: Deque[bytes] = collections.deque()
        self._queued_bytes = 0
        self._cond = threading.Condition()
        self._enqueued = 0  # sequence number of the last trace queued
        self._done = 0  # traces taken off the queue and finished (sent, rejected or failed)
        self._flush_wanted = 0  # flush until this sequence number, regardless of size/interval
        self._oldest_at: float | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="metronis-batcher", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def put(self, item: bytes) -> bool:
        """Queues one serialized trace; False when it was dropped because the queue is full or closed."""
        with self._cond:
            if self._closing or len(self._queue) >= self._max_queue_size or self._queued_bytes + len(item) > self._max_queue_bytes:
                self.counters.dropped += 1
                return False
            self._queue.append(item)
            self._queued_bytes += len(item)
            self._enqueued += 1
            if self._oldest_at is None:
                self._oldest_at = time.monotonic()
            if len(self._queue) >= self._max_batch_size:
                self._cond.notify_all()
            return True

    def flush(self, timeout: float | None = None) -> bool:
        """Sends everything queued before the call; True when it was all handled within `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._enqueued
            self._flush_wanted = max(self._flush_wanted, target)
            self._cond.notify_all()
            while self._done < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def shutdown(self, timeout: float) -> bool:
        """Stops taking traces, sends what is queued within `timeout`, stops the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _take(self) -> list[bytes]:
        batch: list[bytes] = []
        size = 0
        while self._queue and len(batch) < self._max_batch_size:
            item = self._queue[0]
            if batch and size + len(item) > self._max_batch_bytes:
                break
            self._queue.popleft()
            self._queued_bytes -= len(item)
            batch.append(item)
            size += len(item)
        self._oldest_at = time.monotonic() if self._queue else None
        return batch

    def _due(self) -> bool:
        if not self._queue:
            return False
        if self._closing or len(self._queue) >= self._max_batch_size or self._flush_wanted > self._done:
            return True
        return self._oldest_at is not None and time.monotonic() - self._oldest_at >= self._flush_interval

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due():
                    if self._closing and not self._queue:
                        return
                    wait = None if self._oldest_at is None else max(0.0, self._flush_interval - (time.monotonic() - self._oldest_at))
                    self._cond.wait(wait)
                batch = self._take()
            try:
                self._send(batch)
            except Exception:  # the sender counts its own failures; this only keeps the thread alive
                self.counters.failed += len(batch)
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()
