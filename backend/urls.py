"""URL routes: admin, API, SMS webhooks, health check, domain pages."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from backend.core.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("importar/", include("backend.imports.urls")),
    path("hilos/", include("backend.threads.urls")),
]
urlpatterns += [path("", include("sms.urls")), path("", include("backend.portal.urls"))]

# Console: `/`, login and logout, and every page under /consola/.
from backend.console.urls import auth_urlpatterns as console_auth_urls  # noqa: E402

urlpatterns += [*console_auth_urls, path("", include("backend.console.urls"))]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
