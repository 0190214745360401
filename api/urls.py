"""API routes; each domain adds its own module here."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import assignments, auth, imports, views

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("auth/token/", auth.TokenObtainApi.as_view(), name="api-auth-token"),
    path("me/", views.MeApi.as_view(), name="api-me"),
    path("elections/", views.ElectionListApi.as_view(), name="api-election-list"),
    # Assignments
    path("assignments/", assignments.AssignmentListApi.as_view(), name="api-assignment-list"),
    path("assignments/<int:pk>/", assignments.AssignmentDetailApi.as_view(), name="api-assignment-detail"),
    path("assignments/assign/", assignments.AssignApi.as_view(), name="api-assignment-assign"),
    path("assignments/swap/", assignments.SwapApi.as_view(), name="api-assignment-swap"),
    path("assignments/<int:pk>/unassign/", assignments.UnassignApi.as_view(), name="api-assignment-unassign"),
    path("assignments/<int:pk>/shift/", assignments.ShiftApi.as_view(), name="api-assignment-shift"),
    path("assignments/<int:pk>/lock/", assignments.LockApi.as_view(), name="api-assignment-lock"),
    path("assignments/<int:pk>/unlock/", assignments.UnlockApi.as_view(), name="api-assignment-unlock"),
    path("assignments/<int:pk>/decline/", assignments.DeclineApi.as_view(), name="api-assignment-decline"),
    path("assignments/<int:pk>/confirm/", assignments.ConfirmApi.as_view(), name="api-assignment-confirm"),
    path("assignments/<int:pk>/check-in/", assignments.CheckInApi.as_view(), name="api-assignment-check-in"),
    path("assignments/<int:pk>/hand-over/", assignments.HandOverApi.as_view(), name="api-assignment-hand-over"),
    path("assignments/<int:pk>/replace/", assignments.ReplaceApi.as_view(), name="api-assignment-replace"),
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
    path("imports/", imports.ImportUploadApi.as_view(), name="api-import-upload"),
    path("imports/<int:batch_id>/", imports.ImportDetailApi.as_view(), name="api-import-detail"),
    path("imports/<int:batch_id>/apply/", imports.ImportApplyApi.as_view(), name="api-import-apply"),
    path("imports/<int:batch_id>/report/", imports.ImportReportApi.as_view(), name="api-import-report"),
]

# Station threads.
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

from . import volunteers as volunteers_api  # noqa: E402

urlpatterns += [
    path("volunteers/", volunteers_api.VolunteerListApi.as_view(), name="api-volunteer-list"),
    path("volunteers/<int:pk>/", volunteers_api.VolunteerDetailApi.as_view(), name="api-volunteer-detail"),
]

from . import sms as sms_api  # noqa: E402

urlpatterns += [
    path("sms/broadcasts/preview/", sms_api.BroadcastPreviewApi.as_view(), name="api-broadcast-preview"),
    path("sms/broadcasts/", sms_api.BroadcastListCreateApi.as_view(), name="api-broadcast-list"),
    path("sms/broadcasts/<int:pk>/", sms_api.BroadcastDetailApi.as_view(), name="api-broadcast-detail"),
    path("sms/broadcasts/<int:pk>/approve/", sms_api.BroadcastApproveApi.as_view(), name="api-broadcast-approve"),
    path("sms/broadcasts/<int:pk>/send/", sms_api.BroadcastSendApi.as_view(), name="api-broadcast-send"),
    path("sms/broadcasts/<int:pk>/cancel/", sms_api.BroadcastCancelApi.as_view(), name="api-broadcast-cancel"),
]

from . import tables as tables_api  # noqa: E402

urlpatterns += [
    path("tables/<int:pk>/reports/", tables_api.TableTimelineApi.as_view(), name="api-table-timeline"),
]

from . import incidents as incidents_api  # noqa: E402

urlpatterns += [
    path("incidents/", incidents_api.IncidentListApi.as_view(), name="api-incident-list"),
    path("incidents/<int:pk>/take/", incidents_api.IncidentTakeApi.as_view(), name="api-incident-take"),
    path("incidents/<int:pk>/resolve/", incidents_api.IncidentResolveApi.as_view(), name="api-incident-resolve"),
    path("incidents/<int:pk>/notes/", incidents_api.IncidentNoteApi.as_view(), name="api-incident-note"),
]

from . import count as count_api  # noqa: E402

urlpatterns += [
    path("tables/<int:pk>/sheets/", count_api.TableSheetsApi.as_view(), name="api-table-sheets"),
    path("sheets/<int:pk>/resolve/", count_api.SheetResolveApi.as_view(), name="api-sheet-resolve"),
    path("elections/<int:election_id>/quick-count/", count_api.QuickCountApi.as_view(), name="api-quick-count"),
    path(
        "elections/<int:election_id>/discrepancies/",
        count_api.DiscrepancyListApi.as_view(),
        name="api-discrepancies",
    ),
    path(
        "elections/<int:election_id>/official-imports/",
        count_api.OfficialImportListApi.as_view(),
        name="api-official-imports",
    ),
    path("official-imports/<int:pk>/", count_api.OfficialImportDetailApi.as_view(), name="api-official-import"),
    path(
        "official-imports/<int:pk>/apply/",
        count_api.OfficialImportApplyApi.as_view(),
        name="api-official-import-apply",
    ),
]

from . import credentials as credentials_api  # noqa: E402

urlpatterns += [
    path(
        "assignments/<int:pk>/credential/",
        credentials_api.AssignmentCredentialApi.as_view(),
        name="api-assignment-credential",
    ),
    path("places/<int:pk>/credentials/", credentials_api.PlaceCredentialsApi.as_view(), name="api-place-credentials"),
    path("credentials/batches/", credentials_api.CredentialBatchStartApi.as_view(), name="api-credentials-batches"),
    path(
        "credentials/batches/<int:pk>/",
        credentials_api.CredentialBatchDetailApi.as_view(),
        name="api-credentials-batch-detail",
    ),
    path(
        "credentials/batches/<int:pk>/download/",
        credentials_api.CredentialBatchDownloadApi.as_view(),
        name="api-credentials-batch-download",
    ),
]
