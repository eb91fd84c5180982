"""Back-pressure in the metric buffer: when its writer falls behind a fast loop for longer than
``MAX_LAG_SECONDS``, the logging thread writes the queue itself (so a kill loses about a second at
most), and a failing store never makes that raise into the user's loop.

The buffer gets a writer that never runs and a clock the test moves, so the lag is decided here,
not by the machine's load; the real writer thread under a real kill is tests/core/test_crash.py."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence

import pytest

from jupyter_mm.client import metric_buffer
from jupyter_mm.client.metric_buffer import MAX_LAG_SECONDS, MetricBuffer, Point
from jupyter_mm.errors import StoreFull

BATCH = 1024  # a multiple of the lag check's stride, so each batch ends on a check


class IdleWriter(metric_buffer._Writer):
    """A writer thread that is always busy elsewhere: it never flushes, it only counts wake-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.wakes = 0

    def register(self, buffer: MetricBuffer) -> None:
        pass

    def unregister(self, buffer: MetricBuffer) -> None:
        pass

    def wake(self) -> None:
        self.wakes += 1


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Sink:
    """Records each written batch and the thread that wrote it; fails while ``failure`` is set."""

    def __init__(self) -> None:
        self.batches: list[list[Point]] = []
        self.threads: list[str] = []
        self.failure: Exception | None = None

    def __call__(self, batch: Sequence[Point]) -> None:
        if self.failure is not None:
            raise self.failure
        self.batches.append(list(batch))
        self.threads.append(threading.current_thread().name)

    @property
    def steps(self) -> list[int]:
        return [p[2] for b in self.batches for p in b]


def log(buffer: MetricBuffer, start: int, count: int) -> int:
    """Append as ActiveRun.log_metric does (straight to the queue, then ``filled``)."""
    q = buffer.queue
    for step in range(start, start + count):
        q.append(("loss", step * 0.5, step, 0))
        if len(q) >= buffer.batch_size:
            buffer.filled(len(q))
    return start + count


@pytest.fixture
def parts() -> tuple[MetricBuffer, Sink, Clock, IdleWriter]:
    sink, clock, writer = Sink(), Clock(), IdleWriter()
    buffer = MetricBuffer(sink, batch_size=BATCH, name="r1", writer=writer, clock=clock)
    return buffer, sink, clock, writer


def test_the_logging_thread_writes_the_queue_once_the_writer_lags(
    parts: tuple[MetricBuffer, Sink, Clock, IdleWriter],
) -> None:
    buffer, sink, clock, writer = parts
    step = log(buffer, 0, BATCH)
    assert writer.wakes == 1  # a full batch wakes the writer once
    clock.now += MAX_LAG_SECONDS / 2
    step = log(buffer, step, 2 * BATCH)
    assert sink.batches == [] and len(buffer) == 3 * BATCH  # not behind for long yet
    assert writer.wakes == 1

    clock.now += MAX_LAG_SECONDS / 2
    step = log(buffer, step, BATCH)
    # behind for MAX_LAG_SECONDS: this thread wrote everything queued, in order, in batches
    assert sink.steps == list(range(4 * BATCH))
    assert set(sink.threads) == {threading.current_thread().name}
    assert all(len(b) <= BATCH for b in sink.batches)
    assert len(buffer) == 0

    # caught up: the next full batch only wakes the writer again, whatever the clock says
    clock.now += 10 * MAX_LAG_SECONDS
    step = log(buffer, step, BATCH)
    assert len(buffer) == BATCH and writer.wakes == 2
    assert len(sink.steps) == 4 * BATCH


def test_a_failing_store_under_back_pressure_keeps_the_points_and_never_raises(
    parts: tuple[MetricBuffer, Sink, Clock, IdleWriter],
) -> None:
    buffer, sink, clock, _ = parts
    sink.failure = StoreFull("database")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step = log(buffer, 0, BATCH)
        clock.now += MAX_LAG_SECONDS
        step = log(buffer, step, BATCH)  # back-pressure tries to write, and the store fails
        assert buffer.stalled is not None and len(buffer) == 2 * BATCH
        clock.now += MAX_LAG_SECONDS
        step = log(buffer, step, 2 * BATCH)  # stalled: no more writes in the loop; nothing lost
        assert len(buffer) == 4 * BATCH
        stopped = [str(w.message) for w in caught if "stopped" in str(w.message)]
        assert len(stopped) == 1 and "of run r1" in stopped[0], stopped

        sink.failure = None  # the disk has room again: the writer's next tick writes it all
        buffer.tick(clock.now)
    assert sink.steps == list(range(4 * BATCH))
    assert buffer.stalled is None
    assert any("resumed" in str(w.message) for w in caught)
