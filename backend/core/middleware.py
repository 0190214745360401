"""The innermost middleware: keeps every HTTP middleware of the ASGI server in one worker thread."""


class SyncChainMiddleware:
    """Last in MIDDLEWARE, sync only, passes the request on untouched.

    Under ASGI Django adapts each middleware to the mode of the one inside it. With an async-capable
    middleware innermost (Django's all are), every `process_request` and `process_response` of the
    chain runs as its own hop from the event loop to a thread and back, and WhiteNoise (sync only)
    adds one more: about 14 thread hops per request, a large share of a short request's CPU (the
    election-day bench: README, Performance). With this one innermost the whole chain runs sync in
    the request's one thread; only the view (and CSRF's `process_view`) still hop.
    """

    sync_capable = True
    async_capable = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
