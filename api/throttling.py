"""The API's per-user rate limit: a sliding-window counter, one Redis round trip per request.

DRF's `UserRateThrottle` keeps every request's timestamp of the last minute in one cache entry: each
request reads the list, unpickles it, drops the old ones, appends and writes it all back (two Redis
round trips, and a list as long as the rate: 1,200 floats for a busy client under "1200/min").
Here each user has one counter per window (the rate's duration); the rate is checked against the
current window's count plus the previous window's, weighted by how much of it still lies within one
duration of now (the usual sliding-window approximation; no burst of twice the rate at a window's
edge, as a plain fixed window would allow). With Redis the increment, its expiry and the previous
count go in one pipelined round trip. A refused request is taken back out of the count, as DRF's
throttle does not count it either. Anonymous requests keep DRF's `AnonRateThrottle`.
"""

import math

from django.core.cache.backends.redis import RedisCacheClient
from rest_framework.throttling import UserRateThrottle as DRFUserRateThrottle


class UserRateThrottle(DRFUserRateThrottle):
    """The "user" rate (settings' DEFAULT_THROTTLE_RATES), per authenticated user or, without one, per address."""

    num_requests: int  # set by DRF's __init__ from the rate (None without a rate: no check at all)
    duration: int

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, into = divmod(self.now, self.duration)
        current_key = f"{self.key}:{int(window)}"
        current, previous = self._count(current_key, f"{self.key}:{int(window) - 1}")
        carried = previous * (1 - into / self.duration)  # the part of the previous window still within reach
        if carried + current <= self.num_requests:
            return True
        self.cache.decr(current_key)  # refused: not counted, as DRF's own throttle does not count it
        self.wait_seconds = self._wait(current - 1, previous, into)
        return self.throttle_failure()

    def _count(self, current_key: str, previous_key: str) -> tuple[int, int]:
        """Count this request in the current window; the current and the previous windows' counts."""
        expiry = 2 * self.duration  # the current window is read as "previous" during the next one
        # DRF's `cache` is Django's proxy to the default cache: ask it for its client, not its type.
        redis_cache = getattr(self.cache, "_cache", None)
        if isinstance(redis_cache, RedisCacheClient):
            client = redis_cache.get_client(write=True)
            key = self.cache.make_and_validate_key(current_key)
            pipeline = client.pipeline(transaction=False)
            pipeline.incr(key)
            pipeline.expire(key, expiry, nx=True)
            pipeline.get(self.cache.make_and_validate_key(previous_key))
            current, _expiry_set, previous = pipeline.execute()
            return int(current), int(previous or 0)
        # Any other cache (the in-process one of tests and development): the same counts, more calls.
        self.cache.add(current_key, 0, expiry)
        return self.cache.incr(current_key), int(self.cache.get(previous_key) or 0)

    def _wait(self, current: int, previous: int, into: float) -> float:
        """Seconds until one more request fits, counting neither this refused one nor any sent meanwhile."""
        room = self.num_requests - 1  # one more request must fit beside what is already counted
        if current <= room and previous:
            # Within this window, once enough of the previous one has slid out of reach.
            return max(0.0, self.duration * (1 - (room - current) / previous) - into)
        # In the next window, once enough of this one has slid out of reach.
        left = self.duration - into
        return left + (self.duration * (1 - room / current) if current else 0.0)

    def wait(self) -> float:
        # Rounded first: 60 * (1 - 2 / 3) is 20.000000000000004, not a reason to say 21 seconds.
        return max(1, math.ceil(round(self.wait_seconds, 6)))
