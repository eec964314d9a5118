"""The world's clock: real time by default; a test may freeze it, move it on, or let it run.

Every part of the world reads the time here (message times, mute expiries, request times, the
daily like budget), so a test that moves the clock moves all of them together.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class WorldClock:
    """Unix seconds as the world sees them: the real clock plus an offset, or a frozen time."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset = 0.0
        self._frozen: float | None = None

    def __call__(self) -> float:
        """The world's time now."""
        if self._frozen is not None:
            return self._frozen
        return self._source() + self._offset

    now = __call__

    @property
    def frozen(self) -> bool:
        """Whether the clock stands still."""
        return self._frozen is not None

    def freeze(self, at: float | None = None) -> None:
        """Stop the clock at `at` (Unix seconds), or where it is now."""
        self._frozen = self() if at is None else float(at)

    def advance(self, seconds: float) -> None:
        """Move the clock `seconds` on, frozen or not."""
        if seconds < 0:
            raise ValueError("the world clock never runs backwards")
        if self._frozen is not None:
            self._frozen += seconds
        else:
            self._offset += seconds

    def resume(self) -> None:
        """Let the clock run again from where it stands."""
        if self._frozen is not None:
            self._offset = self._frozen - self._source()
            self._frozen = None
