"""The ASGI handler's threads: one hop to one thread for all of a request's sync code, reused by the
next request, never shared by two requests at once (backend/core/handlers.py)."""

import asyncio
import threading
import time

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path

from backend.core import handlers as handlers_module
from backend.core.handlers import ReusedThreadASGIHandler

# The thread objects themselves: an ended thread's ident may be given to a new one.
seen: list[tuple[str, threading.Thread]] = []
both_inside = threading.Barrier(2, timeout=5)


def _probe(request):
    seen.append(("view", threading.current_thread()))
    if request.GET.get("meet"):
        both_inside.wait()  # only returns once another request's view runs at the same time
    return HttpResponse("ok")


working_now = 0
most_at_once = 0
counting = threading.Lock()


def _slow(request):
    global working_now, most_at_once
    with counting:
        working_now += 1
        most_at_once = max(most_at_once, working_now)
    time.sleep(0.05)
    with counting:
        working_now -= 1
    return HttpResponse("ok")


def _stream(request):
    def chunks():
        seen.append(("chunk", threading.current_thread()))
        yield b"ok"

    return StreamingHttpResponse(chunks())


def _wait_for_release(request):
    seen.append(("view", threading.current_thread()))
    release.wait(5)
    return HttpResponse("late")


release = threading.Event()

urlpatterns = [path("probe/", _probe), path("slow/", _slow), path("stream/", _stream), path("wait/", _wait_for_release)]


def _record_start(**kwargs):
    seen.append(("started", threading.current_thread()))


def _record_finish(**kwargs):
    seen.append(("finished", threading.current_thread()))


class _Middleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        seen.append(("middleware", threading.current_thread()))
        return self.get_response(request)


def _http_get_scope(path: str, query: str = "") -> dict:
    """The ASGI scope of a plain GET to the test server, as uvicorn would hand it over."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def _get(handler, query: str = "", where: str = "/probe/", sent: list | None = None) -> int:
    sent = [] if sent is None else sent
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive():
        try:
            return next(messages)
        except StopIteration:
            await asyncio.sleep(3600)  # no disconnect: the request runs to its end

    async def send(message):
        sent.append(message)
        if message["type"] == "http.response.start":
            seen.append(("sent", threading.current_thread()))

    scope = _http_get_scope(where, query)
    await handler(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.fixture
def routes(settings):
    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]


@pytest.fixture
def handler(settings):
    from django.core.signals import request_started

    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]
    seen.clear()
    request_started.connect(_record_start)
    yield ReusedThreadASGIHandler()
    request_started.disconnect(_record_start)


@pytest.fixture
def hops(monkeypatch):
    """Counts what the handler's request threads are given to run: each is one hop from the event loop."""
    submitted: list[str] = []

    class CountingExecutor(handlers_module.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(getattr(fn, "__name__", repr(fn)))
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(handlers_module, "ThreadPoolExecutor", CountingExecutor)
    return submitted


@pytest.fixture
def traced(settings):
    """A handler whose every step records its thread: signals, a middleware, the view, the send."""
    from django.core.signals import request_finished, request_started

    settings.ROOT_URLCONF = __name__
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}._Middleware"]
    seen.clear()
    request_started.connect(_record_start)
    request_finished.connect(_record_finish)
    yield
    request_started.disconnect(_record_start)
    request_finished.disconnect(_record_finish)


def test_a_request_goes_to_its_thread_once_and_is_finished_there_before_its_answer_is_written(traced, hops):
    handler = ReusedThreadASGIHandler()

    # when: one request with a body already in bytes
    status = asyncio.run(_get(handler))

    # then: one hop; the signals, the middleware and the view in that one thread, request_finished (its
    # database connection back to the pool) before the answer is written on the event loop
    assert status == 200
    assert len(hops) == 1
    assert [kind for kind, _thread in seen] == ["started", "middleware", "view", "finished", "sent"]
    request_thread = seen[0][1]
    assert {thread for kind, thread in seen if kind != "sent"} == {request_thread}
    assert request_thread is not threading.current_thread()
    assert seen[-1][1] is threading.current_thread()


# Django's warning for any sync iterator served over ASGI (the exports' too): not this test's subject.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
def test_a_streaming_answer_is_finished_after_its_last_chunk_in_the_requests_thread(traced):
    handler = ReusedThreadASGIHandler()
    sent: list[dict] = []

    # when: a streaming response (a spreadsheet, a zip)
    status = asyncio.run(_get(handler, where="/stream/", sent=sent))

    # then: its body is sent whole, and only then request_finished runs, in the request's thread
    assert status == 200
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body") == b"ok"
    assert [kind for kind, _thread in seen] == ["started", "middleware", "sent", "chunk", "finished"]
    assert seen[-1][1] is seen[0][1]


def test_a_client_gone_before_its_answer_still_finishes_its_request_once_in_its_thread(traced):
    handler = ReusedThreadASGIHandler()
    sent: list[dict] = []
    release.clear()
    messages = [{"type": "http.disconnect"}, {"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        message = messages.pop()
        if message["type"] == "http.disconnect":
            while not any(kind == "view" for kind, _thread in seen):
                await asyncio.sleep(0.01)  # the client leaves once the view is running
        return message

    async def send(message):
        sent.append(message)

    scope = _http_get_scope("/wait/")

    async def scenario():
        answering = asyncio.create_task(handler(scope, receive, send))
        while not any(kind == "view" for kind, _thread in seen):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        release.set()  # the view ends after the client has gone
        await answering

    # when: the client disconnects while the view runs
    asyncio.run(scenario())

    # then: nothing is sent, and request_finished runs once the view is done, in its thread
    assert sent == []
    kinds = [kind for kind, _thread in seen]
    assert kinds == ["started", "middleware", "view", "finished"]
    assert {thread for _kind, thread in seen} == {seen[0][1]}


def test_a_requests_sync_code_runs_in_one_thread_that_the_next_request_reuses(handler):
    # when: two requests, one after the other
    async def scenario():
        return [await _get(handler), await _get(handler)]

    statuses = asyncio.run(scenario())
    # then: each request's signal and view ran in the same thread, and the second in the first's
    assert statuses == [200, 200]
    assert [kind for kind, _thread in seen if kind != "sent"] == ["started", "view", "started", "view"]
    assert len({thread for kind, thread in seen if kind != "sent"}) == 1
    assert seen[0][1] is not threading.current_thread()


def test_requests_at_the_same_time_never_share_a_thread(handler):
    # when: two requests whose views wait for each other (one shared thread would never get there)
    async def scenario():
        return await asyncio.gather(_get(handler, "meet=1"), _get(handler, "meet=1"))

    statuses = asyncio.run(scenario())
    # then: both answered, each from its own thread
    assert statuses == [200, 200]
    views = [thread for kind, thread in seen if kind == "view"]
    assert len(set(views)) == 2


@pytest.mark.parametrize(("limit", "expected"), [(2, 2), (0, 8)])
def test_no_more_requests_work_at_once_than_the_limit_and_the_rest_wait_their_turn(routes, limit, expected):
    global most_at_once
    most_at_once = 0
    handler = ReusedThreadASGIHandler(concurrent_requests=limit)

    # when: eight requests arrive together, each working 50 ms in its view
    async def scenario():
        return await asyncio.gather(*(_get(handler, where="/slow/") for _ in range(8)))

    statuses = asyncio.run(scenario())
    # then: every one is answered; with a limit, never more than that many views at once
    assert statuses == [200] * 8
    if limit:
        assert most_at_once == expected
    else:
        assert most_at_once > 2  # without a limit they overlap (the check above can fail)
