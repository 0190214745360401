"""Credentials in the API: one watcher's PDF, a school's PDF, and the zip of an area built in the
background (start, follow, download). Thin adapters over backend.credentials."""

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.assignments.models import Assignment
from backend.core.models import FileJobState
from backend.credentials.models import CredentialBatch
from backend.credentials.selectors import batch_get
from backend.credentials.services import (
    assignment_credential_pdf,
    batch_dir,
    credentials_batch_start,
    place_credentials_pdf,
)
from backend.elections.models import Area, Election, PollingPlace

PDF = OpenApiTypes.BINARY


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _not_found(message: str) -> Response:
    return Response({"code": "not_found", "message": message, "detail": {}}, status=status.HTTP_404_NOT_FOUND)


class AssignmentCredentialApi(APIView):
    """GET: the watcher's credential as a PDF (issued on first print while the assignment is active)."""

    @extend_schema(
        parameters=[OpenApiParameter("layout", str, enum=["a4", "phone"], required=False)],
        responses={(200, "application/pdf"): PDF},
    )
    def get(self, request, pk: int):
        assignment = get_object_or_404(
            Assignment.objects.select_related("volunteer", "place__area", "table", "election"), pk=pk
        )
        layout = "phone" if request.query_params.get("layout") == "phone" else "a4"
        content, _pages = assignment_credential_pdf(assignment=assignment, actor=request.user, layout=layout)
        return _pdf(content, f"credencial-{assignment.volunteer.dni}.pdf")


class PlaceCredentialsApi(APIView):
    """GET: every active watcher's credential of one school, two per A4 page."""

    @extend_schema(responses={(200, "application/pdf"): PDF})
    def get(self, request, pk: int):
        place = get_object_or_404(PollingPlace.objects.select_related("area", "election"), pk=pk)
        content, _pages = place_credentials_pdf(place=place, actor=request.user)
        return _pdf(content, f"credenciales-{place.code}.pdf")


class BatchSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = CredentialBatch
        fields = ["id", "election", "area", "state", "total", "done", "pages", "percent", "error", "download_url"]

    def get_download_url(self, obj) -> str:
        return reverse("api-credentials-batch-download", args=[obj.pk]) if obj.state == FileJobState.DONE else ""


class CredentialBatchStartApi(APIView):
    """POST {election, area?}: queue a zip of one PDF per school (the whole election: leads only); 202."""

    class InputSerializer(serializers.Serializer):
        election = serializers.IntegerField()
        area = serializers.IntegerField(required=False, allow_null=True)

    @extend_schema(request=InputSerializer, responses={202: BatchSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        election = get_object_or_404(Election, pk=data.validated_data["election"])
        area_id = data.validated_data.get("area")
        area = get_object_or_404(Area, pk=area_id, election=election) if area_id else None
        batch = credentials_batch_start(election=election, area=area, actor=request.user)
        batch.refresh_from_db()  # the task may already have run (eager in development)
        return Response(BatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class CredentialBatchDetailApi(APIView):
    """GET: a batch's progress, for its requester or a lead."""

    @extend_schema(responses={200: BatchSerializer})
    def get(self, request, pk: int):
        batch = batch_get(user=request.user, pk=pk)
        if batch is None:
            return _not_found(_("No existe ese lote de credenciales."))
        return Response(BatchSerializer(batch).data)


class CredentialBatchDownloadApi(APIView):
    """GET: the batch's zip once it is built (404 before, and after it was deleted)."""

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    def get(self, request, pk: int):
        batch = batch_get(user=request.user, pk=pk)
        if batch is None or batch.state != FileJobState.DONE or not batch.file_name:
            return _not_found(_("Ese zip no está listo o ya se borró."))
        path = batch_dir() / batch.file_name
        if not path.is_file():
            return _not_found(_("Ese zip no está listo o ya se borró."))
        stem = f"credenciales-{batch.area.code if batch.area else batch.election.slug}"
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}.zip", content_type="application/zip")
