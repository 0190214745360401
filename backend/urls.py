"""URL routes: admin, API, SMS webhooks, health check, domain pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.defaults import page_not_found, server_error

from api.exceptions import api_not_found, api_server_error
from backend.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("importar/", include("backend.imports.urls")),
    path("hilos/", include("backend.threads.urls")),
    path("", include("backend.credentials.urls")),
]
urlpatterns += [path("", include("sms.urls")), path("", include("backend.portal.urls"))]

# Console: `/`, login and logout, and every page under /consola/.
from backend.console.urls import auth_urlpatterns as console_auth_urls  # noqa: E402

urlpatterns += [*console_auth_urls, path("", include("backend.console.urls"))]


def handler404(request, exception):
    """JSON for API clients, the usual page for people."""
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return server_error(request)


if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
