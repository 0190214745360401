"""Per-sender token buckets counting SMS segments, shared by every worker.

Twilio sends 1 segment per second per long-code number (3 toll-free, ~100 short code) whatever
rate its API accepts, so each lane of the pool (backend/messaging/senders.py: one number, or a
whole Messaging Service) has its own bucket, filled at its segments per second, and a message
takes as many tokens as it has segments. Celery's `rate_limit` is per worker, so with N workers
it would send N times too fast: with REDIS_URL the buckets live in Redis (one Lua script: atomic,
Redis's clock); without it, in this process. `acquire()` reserves the tokens and sleeps until
they are due, so the rate holds steadily.
"""

import threading
import time
from functools import lru_cache

import redis
from django.conf import settings

from backend.messaging.senders import Lane

_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + (now - ts) * rate)
local wait = 0
if tokens < cost then wait = (cost - tokens) / rate end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000 + math.ceil((burst - tokens) / rate * 1000))
return tostring(wait)
"""


class LocalBucket:
    def __init__(self):
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._ts = 0.0

    def reserve(self, rate: float, burst: float, cost: float = 1.0) -> float:
        """Take `cost` tokens (they may go below zero: a reservation); seconds until they are due."""
        with self._lock:
            now = time.monotonic()
            tokens = burst if self._tokens is None else min(burst, self._tokens + (now - self._ts) * rate)
            wait = (cost - tokens) / rate if tokens < cost else 0.0
            self._tokens, self._ts = tokens - cost, now
            return wait


class RedisBucket:
    def __init__(self, url: str, key: str):
        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_LUA)
        self._key = key

    def reserve(self, rate: float, burst: float, cost: float = 1.0) -> float:
        return float(self._script(keys=[self._key], args=[rate, burst, cost]))


@lru_cache(maxsize=1024)
def _bucket(redis_url: str, key: str) -> LocalBucket | RedisBucket:
    return RedisBucket(redis_url, key) if redis_url else LocalBucket()


def bucket(lane: Lane) -> LocalBucket | RedisBucket:
    return _bucket(settings.REDIS_URL, f"{settings.SMS_RATE_LIMIT_KEY}:{lane.key}")


def reserve(*, lane: Lane, segments: int) -> float:
    """Reserve `segments` tokens of `lane`'s bucket; the seconds until they are due (no sleep)."""
    rate = lane.rate * float(settings.SMS_PACE_TIME_SCALE)
    burst = max(1.0, float(settings.SMS_RATE_BURST))
    return bucket(lane).reserve(rate, burst, float(max(1, segments)))


def acquire(*, lane: Lane, segments: int) -> float:
    """Wait for `lane`'s turn to send a message of `segments` segments; returns the seconds waited."""
    if not settings.SMS_PACING:
        return 0.0
    wait = reserve(lane=lane, segments=segments)
    if wait > 0:
        time.sleep(wait)
    return wait
