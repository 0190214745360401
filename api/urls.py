"""API routes; each domain adds its own module here."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import auth, imports, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", auth.TokenObtainApi.as_view(), name="api-auth-token"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("elections/", views.ElectionListApi.as_view(), name="api-election-list"),
    path("imports/", imports.ImportUploadApi.as_view(), name="api-import-upload"),
    path("imports/<int:batch_id>/", imports.ImportDetailApi.as_view(), name="api-import-detail"),
    path("imports/<int:batch_id>/apply/", imports.ImportApplyApi.as_view(), name="api-import-apply"),
    path("imports/<int:batch_id>/report/", imports.ImportReportApi.as_view(), name="api-import-report"),
]
