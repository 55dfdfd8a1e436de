"""The sending queue stage on its own: bounded, batches fill for a while, flush is a wait on a
condition (drained only once the worker has delivered what it took)."""

import threading
import time

from otel_linnix.component import Signal
from otel_linnix.exporters.otlpcommon.queue import SendingQueue


def test_full_or_closed_refuses_and_take_empties():
    q = SendingQueue(max_records=5)
    assert q.put(Signal.TRACES, [1, 2, 3])
    assert not q.put(Signal.LOGS, [4, 5, 6])  # would exceed 5: refused whole
    assert q.put(Signal.LOGS, [4, 5]) and q.queued == 5
    assert [len(r) for _, r in q.take()] == [3, 2] and q.queued == 0
    q.close()
    assert not q.put(Signal.TRACES, [1])


def test_drained_waits_for_the_worker_not_just_an_empty_queue():
    q = SendingQueue(100)
    q.put(Signal.TRACES, [1])
    taken = q.take()  # in the worker's hands: not drained yet
    assert taken and not q.drained(0.05)
    threading.Timer(0.1, q.done).start()
    t0 = time.monotonic()
    assert q.drained(5) and time.monotonic() - t0 < 2


def test_a_batch_fills_until_its_timeout_or_size():
    q = SendingQueue(100)
    q.put(Signal.TRACES, [1])
    t0 = time.monotonic()
    q.wait_batch(0.2, max_records=50)
    assert 0.15 <= time.monotonic() - t0 < 2  # waited for more, then gave up
    q.put(Signal.TRACES, list(range(60)))
    t0 = time.monotonic()
    q.wait_batch(5, max_records=50)
    assert time.monotonic() - t0 < 1  # full enough: no wait


def _wait_in_thread(q, *args):
    """Run ``wait_batch`` in a worker thread; returns a function giving its duration."""
    done = {}

    def worker():
        t0 = time.monotonic()
        q.wait_batch(*args)
        done["s"] = time.monotonic() - t0

    thread = threading.Thread(target=worker)
    thread.start()
    return lambda: (thread.join(10), done.get("s"))[1]


def test_metrics_alone_wait_longer_and_a_span_cuts_the_wait_short():
    q = SendingQueue(1000)
    q.put(Signal.METRICS, [1])
    t0 = time.monotonic()
    q.wait_batch(0.1, 50, None, 0.6)
    assert 0.5 <= time.monotonic() - t0 < 3  # metrics only: the long wait
    q.take()
    q.put(Signal.METRICS, [1])
    took = _wait_in_thread(q, 0.1, 50, None, 30)
    time.sleep(0.3)
    q.put(Signal.TRACES, [2])  # spans arrive: the batch goes after the short timeout
    assert took() < 5


def test_a_filling_batch_returns_once_full_and_on_a_flush():
    q = SendingQueue(1000)
    q.put(Signal.TRACES, [1])
    took = _wait_in_thread(q, 30, 10)
    time.sleep(0.1)
    for i in range(9):  # below the batch size nobody is woken; the tenth record does
        q.put(Signal.TRACES, [i])
    assert took() < 5
    q.take()
    q.done()
    q.put(Signal.METRICS, [1])
    took = _wait_in_thread(q, 30, 10, None, 60)
    time.sleep(0.1)
    threading.Thread(target=q.drained, args=(0.5,)).start()  # force_flush: send what you have
    assert took() < 5
