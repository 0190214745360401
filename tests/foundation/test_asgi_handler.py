"""The ASGI handler's threads: one thread for all of a request's sync code, reused by the next
request, never shared by two requests at once (backend/core/handlers.py)."""

import asyncio
import threading
import time

import pytest
from django.http import HttpResponse
from django.urls import path

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


urlpatterns = [path("probe/", _probe), path("slow/", _slow)]


def _record_start(**kwargs):
    seen.append(("started", threading.current_thread()))


async def _get(handler, query: str = "", where: str = "/probe/") -> int:
    sent: list[dict] = []
    messages = iter([{"type": "http.request", "body": b"", "more_body": False}])

    async def receive():
        try:
            return next(messages)
        except StopIteration:
            await asyncio.sleep(3600)  # no disconnect: the request runs to its end

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": where,
        "raw_path": where.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }
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


def test_a_requests_sync_code_runs_in_one_thread_that_the_next_request_reuses(handler):
    # when: two requests, one after the other
    async def scenario():
        return [await _get(handler), await _get(handler)]

    statuses = asyncio.run(scenario())
    # then: each request's signal and view ran in the same thread, and the second in the first's
    assert statuses == [200, 200]
    assert [kind for kind, _thread in seen] == ["started", "view", "started", "view"]
    assert len({thread for _kind, thread in seen}) == 1
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
