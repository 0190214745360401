"""API routes; each domain adds its own module here."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import assignments, auth, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", auth.TokenObtainApi.as_view(), name="api-auth-token"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("elections/", views.ElectionListApi.as_view(), name="api-election-list"),
    # Assignments (engine helper)
    path("assignments/", assignments.AssignmentListApi.as_view(), name="api-assignment-list"),
    path("assignments/<int:pk>/", assignments.AssignmentDetailApi.as_view(), name="api-assignment-detail"),
    path("assignments/assign/", assignments.AssignApi.as_view(), name="api-assignment-assign"),
    path("assignments/swap/", assignments.SwapApi.as_view(), name="api-assignment-swap"),
    path("assignments/<int:pk>/unassign/", assignments.UnassignApi.as_view(), name="api-assignment-unassign"),
    path("assignments/<int:pk>/lock/", assignments.LockApi.as_view(), name="api-assignment-lock"),
    path("assignments/<int:pk>/unlock/", assignments.UnlockApi.as_view(), name="api-assignment-unlock"),
    path("assignments/<int:pk>/decline/", assignments.DeclineApi.as_view(), name="api-assignment-decline"),
    path("assignments/candidates/", assignments.CandidatesApi.as_view(), name="api-assignment-candidates"),
    path("assignments/coverage/", assignments.CoverageAreaApi.as_view(), name="api-coverage-areas"),
    path("assignments/coverage/places/", assignments.CoveragePlaceApi.as_view(), name="api-coverage-places"),
    path(
        "assignments/coverage/places/<int:place_id>/",
        assignments.CoverageTableApi.as_view(),
        name="api-coverage-tables",
    ),
    path("assignments/auto/", assignments.AutoAssignApi.as_view(), name="api-auto-assign"),
    path("assignments/auto/<str:run_id>/", assignments.AutoAssignStatusApi.as_view(), name="api-auto-assign-status"),
]

# Station threads (helper `threads`).
from . import threads as threads_api  # noqa: E402

urlpatterns += [
    path("threads/<int:place_id>/messages/", threads_api.ThreadMessagesApi.as_view(), name="api-thread-messages"),
    path("threads/<int:place_id>/mute/", threads_api.ThreadMuteApi.as_view(), name="api-thread-mute"),
    path("threads/<int:place_id>/read/", threads_api.ThreadReadApi.as_view(), name="api-thread-read"),
    path("threads/messages/<int:message_id>/hide/", threads_api.MessageHideApi.as_view(), name="api-message-hide"),
    path("threads/messages/<int:message_id>/pin/", threads_api.MessagePinApi.as_view(), name="api-message-pin"),
    path(
        "threads/announcements/unread/",
        threads_api.UnreadAnnouncementListApi.as_view(),
        name="api-thread-unread-announcements",
    ),
]
