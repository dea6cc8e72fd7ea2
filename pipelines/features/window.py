"""How many writes may be in flight at once: fewer after AWS throttles, more again while it does not.

Additive increase, multiplicative decrease (the rule TCP and botocore's adaptive retry mode follow):
a throttled answer halves the window, each accepted write grows it by 1/window (one slot per window of
successes), never above the number of workers nor below one. A burst of throttled answers to requests
sent before the last cut halves the window once, not once per answer: each request carries the
window's send count as a ticket, and only a request sent after the last cut may cut again.
"""

from __future__ import annotations

import threading


class ThrottleWindow:
    """A shared bound on writes in flight, shrunk by throttling (thread-safe)."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a window holds at least one write, not {limit}")
        self.ceiling = limit
        self._limit = float(limit)
        self.low = limit
        """The smallest the window has been."""
        self._in_flight = 0
        self._sent = 0
        self._cut_at = -1
        self._closed = False
        self._changed = threading.Condition()

    @property
    def limit(self) -> int:
        """Writes that may be in flight now."""
        return max(1, int(self._limit))

    def acquire(self) -> int | None:
        """Wait for a slot; the request's ticket, or None once the window is closed."""
        with self._changed:
            while not self._closed and self._in_flight >= self.limit:
                self._changed.wait()
            if self._closed:
                return None
            self._in_flight += 1
            self._sent += 1
            return self._sent

    def release(self, ticket: int, *, throttled: bool) -> None:
        """Free the slot of the request `ticket`; shrink the window if AWS throttled it, else grow it."""
        with self._changed:
            self._in_flight -= 1
            if throttled and ticket > self._cut_at:
                self._limit = max(1.0, self._limit / 2)
                self._cut_at = self._sent
                self.low = min(self.low, self.limit)
            elif not throttled:
                self._limit = min(float(self.ceiling), self._limit + 1 / self._limit)
            self._changed.notify_all()

    def close(self) -> None:
        """Wake every waiter and refuse new slots: the run is stopping."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
