"""What this host normally does: a learned distribution of its fork rate, kept across restarts.

A build farm forks thousands of times a second all day; a database host a few times a minute.
One fixed rate is noise on the first and blind on the second, so the rate a host reaches in
ordinary work is learned: seconds are counted into power-of-two rate buckets (bounded: 40
numbers), old history halves once a week's worth has been seen, and the file in the state
directory is rewritten atomically at most once a minute and at shutdown.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import deque

NS = 1_000_000_000
BUCKETS = 40
#: History halves when this many seconds have been counted (a week).
HALVE_AFTER_S = 7 * 24 * 3600
SAVE_EVERY_NS = 60 * NS
VERSION = 1

log = logging.getLogger(__name__)


def _bucket(rate: float) -> int:
    return 0 if rate < 1 else min(BUCKETS - 1, int(rate).bit_length())


class RateBaseline:
    def __init__(self, path: str | None = None, hold_back_s: int = 10) -> None:
        self.path = path
        self.seconds = [0.0] * BUCKETS
        #: Finished seconds wait this long before they count: the start of a storm, before it is
        #: recognised as one, must not teach the baseline that storms are normal.
        self.hold_back_s = hold_back_s
        self._pending: deque[tuple[int, int]] = deque()
        self._second = -1
        self._count = 0
        self._last_save = 0
        if path:
            self._load()

    @property
    def learned_s(self) -> float:
        return sum(self.seconds)

    def add(self, ts_ns: int, forks: int) -> None:
        """Count ``forks`` at record time ``ts_ns``; a finished second goes into the histogram."""
        second = ts_ns // NS
        if second != self._second:
            if self._second >= 0:
                self._close(second)
            self._second, self._count = second, 0
        self._count += forks

    def discard_pending(self) -> None:
        """A departure is under way: what led up to it is not normal."""
        self._pending.clear()

    def _close(self, next_second: int) -> None:
        self._pending.append((self._second, self._count))
        idle = min(max(0, next_second - self._second - 1), 3600)  # quiet seconds count too
        self.seconds[0] += idle
        while self._pending and self._pending[0][0] <= next_second - self.hold_back_s:
            self.seconds[_bucket(self._pending.popleft()[1])] += 1
        if self.learned_s >= HALVE_AFTER_S:
            self.seconds = [s / 2 for s in self.seconds]

    def quantile(self, q: float) -> float:
        """Upper edge of the bucket holding quantile ``q`` of the seconds seen (0: nothing yet)."""
        total = self.learned_s
        if not total:
            return 0.0
        running = 0.0
        for i, seconds in enumerate(self.seconds):
            running += seconds
            if running >= q * total:
                return float(2 ** i)
        return float(2 ** (BUCKETS - 1))

    def maybe_save(self, now_ns: int) -> None:
        if self.path and now_ns - self._last_save >= SAVE_EVERY_NS:
            self._last_save = now_ns
            self.save()

    def save(self) -> None:
        if not self.path:
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".baseline-")
            with os.fdopen(fd, "w") as fh:
                json.dump({"version": VERSION, "fork_rate_seconds": self.seconds}, fh)
            os.replace(tmp, self.path)
        except OSError as exc:  # the baseline is a hint: losing it never stops the agent
            log.warning("cannot save the fork-rate baseline to %s: %s", self.path, exc)

    def _load(self) -> None:
        if not self.path:
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring the fork-rate baseline in %s: %s", self.path, exc)
            return
        if not isinstance(doc, dict):
            doc = {}
        seconds = doc.get("fork_rate_seconds")
        if (doc.get("version") != VERSION or not isinstance(seconds, list)
                or len(seconds) != BUCKETS
                or not all(isinstance(s, (int, float)) and s >= 0 for s in seconds)):
            log.warning("ignoring the fork-rate baseline in %s: not a version %d baseline",
                        self.path, VERSION)
            return
        self.seconds = [float(s) for s in seconds]
