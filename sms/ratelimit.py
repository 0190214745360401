"""A global send rate (messages per second) shared by every worker.

Celery's `rate_limit` is per worker, so with N workers it would send N times too fast. With
REDIS_URL the bucket lives in Redis (one Lua script: atomic, Redis's clock); without it, in this
process. `acquire()` reserves one token and sleeps until it is due, so the rate holds steadily.
"""

import threading
import time
from functools import lru_cache

from django.conf import settings

_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000 + math.ceil(burst / rate * 1000))
return tostring(wait)
"""


class LocalBucket:
    def __init__(self):
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._ts = 0.0

    def reserve(self, rate: float, burst: float) -> float:
        with self._lock:
            now = time.monotonic()
            tokens = burst if self._tokens is None else min(burst, self._tokens + (now - self._ts) * rate)
            wait = (1 - tokens) / rate if tokens < 1 else 0.0
            self._tokens, self._ts = tokens - 1, now
            return wait


class RedisBucket:
    def __init__(self, url: str, key: str):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_LUA)
        self._key = key

    def reserve(self, rate: float, burst: float) -> float:
        return float(self._script(keys=[self._key], args=[rate, burst]))


@lru_cache(maxsize=4)
def _bucket(redis_url: str, key: str):
    return RedisBucket(redis_url, key) if redis_url else LocalBucket()


def bucket():
    return _bucket(settings.REDIS_URL, settings.SMS_RATE_LIMIT_KEY)


def acquire() -> float:
    """Wait for this process's turn to send one message; returns the seconds waited."""
    rate = float(settings.SMS_RATE_PER_SECOND)
    if rate <= 0:
        return 0.0
    burst = max(1.0, float(settings.SMS_RATE_BURST))
    wait = bucket().reserve(rate, burst)
    if wait > 0:
        time.sleep(wait)
    return wait
