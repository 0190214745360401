"""Django's Redis cache with one Redis client per server instead of one per cache call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` on every get, set or delete; its
constructor fills a table of ~170 response callbacks, so each call cost as much CPU as the round
trip itself (cProfile of an API request: the throttle's get and set, bench/fixed_cost.py). A
`redis.Redis` is safe to share between threads (it takes a connection from the pool per command),
so one per server is kept and reused; everything else is Django's.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
