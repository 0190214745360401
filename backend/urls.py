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
]
urlpatterns += [path("", include("sms.urls")), path("", include("backend.portal.urls"))]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
