"""Django's ASGI handler with a request's sync code in a reused thread instead of two new ones, and
at most `WEB_CONCURRENT_REQUESTS` requests of a process working at once."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler


class ReusedThreadASGIHandler(ASGIHandler):
    """`ASGIHandler` whose requests borrow a one-thread executor from a free list.

    Django runs each request in a `ThreadSensitiveContext()`: all of its sync code (middleware, view,
    the database connection) in one thread of a new one-thread executor, and asgiref (3.13) joins that
    thread on the way out in yet another new thread. Two threads started per request were about a
    tenth of a no-op SMS's server CPU (py-spy on a uvicorn worker, bench/fixed_cost.py). Here the
    executor is taken from the idle ones and put back when the request is done: still one thread for
    the whole request and one request per thread at a time (as a threaded WSGI server), thread-local
    state (the database connection, closed at request end as before) simply outlives the request.
    Only an event loop's own requests use its list (one loop per uvicorn worker).
    """

    def __init__(self, concurrent_requests: int | None = None) -> None:
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []
        limit = settings.WEB_CONCURRENT_REQUESTS if concurrent_requests is None else concurrent_requests
        # Requests past the limit wait here, on the event loop, with their body read: not as threads
        # that take the GIL from the loop (sockets, live events) and then time out waiting for one of
        # the pool's connections (a 500 that loses an SMS). 0: no limit (no pool, as in development).
        self._working = asyncio.Semaphore(limit) if limit > 0 else None

    async def run_get_response(self, request):
        if self._working is None:
            return await super().run_get_response(request)
        async with self._working:
            return await super().run_get_response(request)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        done = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
            done = True
        finally:
            if done:
                self._idle.append(executor)
            else:
                # Cancelled or failed: the thread may still be busy with this request; not reused (it
                # ends once its work is done).
                executor.shutdown(wait=False)
