"""Django's Redis cache with one Redis client per server and process, instead of one per cache call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` on every get, set or delete; its
constructor fills a table of ~170 response callbacks, so each call cost as much CPU as the round
trip itself (cProfile of an API request: the throttle's get and set, bench/fixed_cost.py). And
Django keeps a cache object per thread, while the ASGI server runs each request in a new thread:
a pool per cache object meant a new Redis connection (connect + HELLO) on every request (py-spy of
an API report: 4% of it). A `redis.Redis` is safe to share between threads (it takes a connection
from its pool per command), so one per server and options is kept for the process.
"""

import threading

from django.core.cache.backends import redis as django_redis

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


class RedisCacheClient(django_redis.RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        server = self._servers[self._get_connection_pool_index(write)]
        options = tuple(sorted((name, repr(value)) for name, value in self._pool_options.items()))
        identity = (server, self._pool_class, options)
        client = _clients.get(identity)
        if client is None:
            with _clients_lock:
                client = _clients.get(identity)
                if client is None:
                    pool = self._pool_class.from_url(server, **self._pool_options)
                    client = _clients[identity] = self._client(connection_pool=pool)
        return client

    def _get_connection_pool(self, write):
        return self.get_client(write=write).connection_pool


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
