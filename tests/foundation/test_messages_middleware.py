"""The message middleware builds its storage only for a request that uses it, and messages still travel."""

from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from backend.core.middleware import MessageMiddleware


def _through_middleware(view, cookies: dict | None = None):
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    return request, MessageMiddleware(view)(request)


def test_a_request_that_shows_no_message_builds_no_storage_and_sets_no_cookie(db):
    # when: a webhook or an API request, which never touches messages
    request, response = _through_middleware(lambda request: HttpResponse("ok"))
    # then
    assert request._messages._wrapped is empty and "messages" not in response.cookies


def test_a_message_added_by_one_request_is_shown_by_the_next(db):
    # given: a form's error after a redirect, as the import and portal pages do
    def adds(request):
        messages.error(request, "No tenés una asignación activa.")
        return HttpResponse(status=302)

    _request, first = _through_middleware(adds)
    # when: the next page lists the messages
    shown = []

    def lists(request):
        shown.extend(str(m) for m in messages.get_messages(request))
        return HttpResponse("ok")

    _request, second = _through_middleware(lists, cookies={"messages": first.cookies["messages"].value})
    # then: shown once, and the cookie emptied
    assert shown == ["No tenés una asignación activa."]
    assert second.cookies["messages"].value == ""
