"""Django's PostgreSQL backend whose connection pool checks a connection without a round trip.

Django's pool (5.2) has psycopg_pool run `check_connection` on every connection a request takes:
an empty query, so a round trip to PostgreSQL and a wake-up of its backend before each request's
first statement (py-spy of the uvicorn workers, bench/fixed_cost.py: most of `GET /healthz`'s
database work beside its `SELECT 1`). `connection_usable` asks the socket instead: a connection at
rest has nothing to read, and one the server closed (a restart, `pg_terminate_backend`,
`idle_session_timeout`) has its goodbye or the end of the stream waiting; psycopg_pool then
discards it and hands out another, as after a failed empty query. Django passes `check=` itself,
so psycopg_pool's public `check` parameter cannot come through `OPTIONS["pool"]` (a duplicate
keyword): this engine builds the pool as Django does, with that check. Used with the pool only.
"""

import select

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base


def connection_usable(connection) -> None:
    """psycopg_pool's `check`: returns quietly for a usable connection, raises for one to discard."""
    if connection.closed:
        raise ConnectionError("connection closed")
    readable, _, _ = select.select([connection.pgconn.socket], [], [], 0)
    if readable:
        # Nothing is due to a connection at rest: what waits is the server's goodbye, or a message
        # nobody asked for; a new connection costs less than a request failing on this one. Closed
        # here, so that the pool discards it (it takes back an open one as good, as after a check
        # whose failed query left it broken).
        connection.close()
        raise ConnectionError("the server wrote to a connection at rest")


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        # Django's `pool` property (5.2), but for the `check`.
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            from psycopg_pool import ConnectionPool

            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django's: it sets the mode itself later
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,
                configure=self._configure_connection,
                check=connection_usable if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
