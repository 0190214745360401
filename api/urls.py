"""API routes; each domain adds its own module here."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("elections/", views.ElectionListApi.as_view(), name="api-election-list"),
]

from . import sms as sms_api  # noqa: E402

urlpatterns += [
    path("sms/broadcasts/preview/", sms_api.BroadcastPreviewApi.as_view(), name="api-broadcast-preview"),
    path("sms/broadcasts/", sms_api.BroadcastCreateApi.as_view(), name="api-broadcast-create"),
    path("sms/broadcasts/<int:pk>/", sms_api.BroadcastDetailApi.as_view(), name="api-broadcast-detail"),
    path("sms/broadcasts/<int:pk>/approve/", sms_api.BroadcastApproveApi.as_view(), name="api-broadcast-approve"),
    path("sms/broadcasts/<int:pk>/send/", sms_api.BroadcastSendApi.as_view(), name="api-broadcast-send"),
]
