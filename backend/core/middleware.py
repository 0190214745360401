"""Django's LocaleMiddleware without its URL-prefix work where no `i18n_patterns` are in use, and its
MessageMiddleware with the storage built only for a request that uses it."""

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.messages.storage import default_storage
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty


class LocaleMiddleware(DjangoLocaleMiddleware):
    """The same language for every request as Django's (cookie, then Accept-Language, then Spanish).

    Django's reads a language out of the path twice a request, once on the way in and once out, even
    when no URL carries one: each lookup tries the path's first segment ("sms", "api") as a language
    code and fails, about a tenth of the middleware chain's CPU on a webhook request (cProfile of the
    ASGI handler, bench/fixed_cost.py). No URL of this project carries a language (the language
    switch is `set_language`, a cookie), so the lookups are skipped unless `i18n_patterns` appear.
    """

    def process_request(self, request):
        if self._prefixed(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request, check_path=False))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if self._prefixed(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    @staticmethod
    def _prefixed(request) -> bool:
        # Cached by Django per URLconf: a dictionary look-up.
        return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's, but the message storage is built at its first use.

    Django builds a cookie and a session storage for every request (a cookie signer included), then
    asks it to save on the way out: about 7% of a refused webhook's CPU (py-spy, bench/fixed_cost.py)
    on the webhooks and the API, which never show a message. A storage nobody touched saves nothing
    (Django's `update()` stores only used or added messages), so its saving is skipped as well.
    """

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)
