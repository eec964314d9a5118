"""Per-client token buckets: refuse a flood from one client, never lock everyone out.

A client is its address: with a token set, every client presents the same token, so a bucket
per token would make all of them share one budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from catnest.limits import Limits

# Buckets kept at most; a full bucket is as good as a missing one, so idle ones are dropped.
_MAX_BUCKETS = 10_000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`requests_per_second` with bursts of `request_burst`, per key."""

    def __init__(self, limits: Limits) -> None:
        self._rate = float(limits.requests_per_second)
        self._burst = float(limits.request_burst)
        self._buckets: dict[str, _Bucket] = {}

    def check(self, client: str | None) -> float:
        """Take one token for `client` (its address); 0 when allowed, else the seconds to wait
        before retrying."""
        key = client or "?"
        now = time.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self._burst, now)
        else:
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self._rate

    def _forget_full(self, now: float) -> None:
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.updated) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= _MAX_BUCKETS:
            self._buckets.clear()
