"""Django's ASGI handler with all of a request's sync code in one hop to a reused thread, and at most
`WEB_CONCURRENT_REQUESTS` requests of a process working at once."""

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix


class ReusedThreadASGIHandler(ASGIHandler):
    """`ASGIHandler` whose requests go to a thread once, a thread borrowed from a free list.

    One hop. Django's handler goes back and forth between the event loop and the request's thread
    about five times a request (the `request_started` signal, the middleware chain, back to the loop
    to resolve the URL, the view, the response's `close`), each a future, a wake-up of the other side
    and a context copy: on the signed webhook refused at its signature they were most of its 1.7 ms
    of CPU, where uvicorn itself costs 0.06 ms a request (py-spy on a uvicorn worker,
    bench/fixed_cost.py). Here the middleware is loaded sync (as under WSGI) and one call in the
    request's thread sends `request_started`, builds the request, runs the whole chain and the view,
    and closes a response whose body is already bytes (`request_finished`: its database connection
    goes back to the pool before the answer is written, not after). Only the body's read and the
    answer's write stay on the event loop; a streaming response is closed after its last chunk, as
    Django does. Async views still work (Django's sync path runs them with `async_to_sync`, on this
    loop).

    Reused threads. Django runs each request in a `ThreadSensitiveContext()`, a new one-thread
    executor, and asgiref (3.13) joins that thread on the way out in yet another new thread: two
    threads started per request were about a tenth of a no-op SMS's server CPU. Here the executor is
    taken from the idle ones and put back when the request is done: still one thread for the whole
    request and one request per thread at a time (as a threaded WSGI server), thread-local state (the
    database connection, closed at request end as before) simply outlives the request. Only an event
    loop's own requests use its list (one loop per uvicorn worker).
    """

    def __init__(self, concurrent_requests: int | None = None) -> None:
        BaseHandler.__init__(self)  # not ASGIHandler's: it loads the middleware async
        self.load_middleware(is_async=False)
        self._idle: list[ThreadPoolExecutor] = []
        limit = settings.WEB_CONCURRENT_REQUESTS if concurrent_requests is None else concurrent_requests
        # Requests past the limit wait here, on the event loop, with their body read: not as threads
        # that take the GIL from the loop (sockets, live events) and then time out waiting for one of
        # the pool's connections (a 500 that loses an SMS). 0: no limit (no pool, as in development).
        self._working = asyncio.Semaphore(limit) if limit > 0 else None

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

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        # As Django's: a client that goes away before its answer cancels the answering (a request still
        # waiting for its turn leaves the queue; a view already running finishes in its thread).
        progress: list[str] = []  # "started", then "finished", appended in the request's thread
        answering = asyncio.create_task(self._answer(scope, body_file, send, progress))
        disconnect = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait([answering, disconnect], return_when=asyncio.FIRST_COMPLETED)
        if not disconnect.done():
            disconnect.cancel()
        elif not isinstance(disconnect.exception(), RequestAborted):
            raise disconnect.exception()  # type: ignore[misc]  # an ASGI message after the body: a server bug
        try:
            if not answering.done():
                answering.cancel()
            await answering
        except asyncio.CancelledError:
            # Queued behind the view, if it still runs: request_finished once for a started request,
            # in its thread, so that its database connection goes back to the pool.
            await sync_to_async(self._finish, thread_sensitive=True)(progress)
        finally:
            body_file.close()

    async def _answer(self, scope, body_file, send, progress: list[str]) -> None:
        if self._working is None:
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file, progress)
        else:
            async with self._working:
                response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file, progress)
        with contextlib.suppress(asyncio.CancelledError):  # the client went away while being answered
            await self.send_response(response, send)
        if response.streaming:
            await sync_to_async(self._close, thread_sensitive=True)(response, progress)

    def _respond(self, scope, body_file, progress: list[str]) -> HttpResponseBase:
        """Everything of a request that is sync, in its thread at once."""
        set_script_prefix(get_script_prefix(scope))
        progress.append("started")
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, refusal = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:
            assert refusal is not None  # a body too large, a path that is not UTF-8: Django's answer
            response = refusal
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]  # as Django's own handler
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size  # the ASGI server chunks the file itself
        if not response.streaming:
            self._close(response, progress)
        return response

    def _close(self, response: HttpResponseBase, progress: list[str]) -> None:
        progress.append("finished")
        response.close()  # sends request_finished

    def _finish(self, progress: list[str]) -> None:
        if "started" in progress and "finished" not in progress:
            progress.append("finished")
            signals.request_finished.send(sender=self.__class__)
