"""Import endpoints: upload (dry run or apply), batch detail with progress, apply a preview, report download.

Leads only (`backend.permissions.can_import`). Small files run inline and answer 201 with
the finished batch; large ones answer 202 with a pending batch whose progress the client polls.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.exceptions import PermissionDenied
from backend.elections.models import Election
from backend.imports.models import ImportBatch, ImportKind
from backend.imports.services import batch_apply, batch_create, batch_start, problem_rows
from backend.imports.views import report_response
from backend.permissions import can_import


def _require_import(user) -> None:
    if not can_import(user):
        raise PermissionDenied()


class ProblemSerializer(serializers.Serializer):
    row = serializers.IntegerField(source="row_number")
    status = serializers.CharField()
    reason = serializers.CharField()
    warning = serializers.BooleanField(source="has_warning")


class BatchOutputSerializer(serializers.ModelSerializer):
    election: "serializers.SlugRelatedField[Election]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    progress = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField()
    problems = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "kind",
            "election",
            "created_by",
            "created_at",
            "applied_at",
            "file_name",
            "file_hash",
            "dry_run",
            "status",
            "total_rows",
            "rows_done",
            "progress",
            "counts",
            "summary",
            "error_code",
            "error_message",
            "details",
            "problems",
            "report_url",
        ]

    def get_counts(self, batch) -> dict:
        return {
            "new": batch.created,
            "updated": batch.updated,
            "unchanged": batch.unchanged,
            "merged": batch.merged,
            "warnings": batch.warnings,
            "rejected": batch.rejected,
        }

    def get_problems(self, batch) -> list:
        # many=True builds a ListSerializer, whose data is a ReturnList; the stubs say ReturnDict.
        return ProblemSerializer(problem_rows(batch), many=True).data if batch.finished else []  # type: ignore[return-value]

    def get_report_url(self, batch) -> str | None:
        if batch.status not in ("previewed", "applied"):
            return None
        return f"/api/imports/{batch.pk}/report/"


class ImportUploadApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        election = serializers.SlugRelatedField(slug_field="slug", queryset=Election.objects.all())
        kind = serializers.ChoiceField(choices=ImportKind.choices)
        file = serializers.FileField(required=False)
        # A station list with its companion files (or one zip): repeat the `files` part.
        files = serializers.ListField(child=serializers.FileField(), required=False, max_length=20)
        dry_run = serializers.BooleanField(default=True)
        default_area_code = serializers.CharField(required=False, allow_blank=True, default="")
        mapping = serializers.JSONField(
            binary=True,  # multipart sends it as a JSON string
            required=False,
            default=dict,
            help_text='Columna -> campo (vacío para ignorarla), p. ej. {"Nro": "table_number"}',
        )
        all_or_nothing = serializers.BooleanField(default=False)

        def validate_mapping(self, value):
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise serializers.ValidationError(_("El mapeo debe ser un objeto columna -> campo."))
            return value

        def validate(self, attrs):
            uploads = ([attrs["file"]] if attrs.get("file") else []) + list(attrs.get("files") or [])
            if not uploads:
                raise serializers.ValidationError({"file": _("Subí al menos un archivo.")})
            attrs["uploads"] = uploads
            return attrs

    serializer_class = InputSerializer

    @extend_schema(
        request=InputSerializer,
        responses={201: BatchOutputSerializer, 202: BatchOutputSerializer},
        description="Sube una planilla: vista previa (dry_run) o importación directa. Solo responsables.",
    )
    def post(self, request):
        _require_import(request.user)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        batch = batch_create(
            actor=request.user,
            election=values["election"],
            kind=values["kind"],
            files=[(upload.name, upload.read()) for upload in values["uploads"]],
            dry_run=values["dry_run"],
            default_area_code=values["default_area_code"],
            language=get_language() or "es-ar",
            mapping=values["mapping"],
            all_or_nothing=values["all_or_nothing"],
        )
        batch = batch_start(batch=batch)
        code = status.HTTP_201_CREATED if batch.finished else status.HTTP_202_ACCEPTED
        return Response(BatchOutputSerializer(batch).data, status=code)


class ImportDetailApi(APIView):
    serializer_class = BatchOutputSerializer

    def get(self, request, batch_id: int):
        _require_import(request.user)
        batch = get_object_or_404(ImportBatch.objects.select_related("election", "created_by"), pk=batch_id)
        return Response(BatchOutputSerializer(batch).data)


class ImportApplyApi(APIView):
    serializer_class = BatchOutputSerializer

    def post(self, request, batch_id: int):
        _require_import(request.user)
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        batch = batch_apply(batch=batch, actor=request.user)
        code = status.HTTP_200_OK if batch.finished else status.HTTP_202_ACCEPTED
        return Response(BatchOutputSerializer(batch).data, status=code)


class ImportReportApi(APIView):
    @extend_schema(
        responses={200: OpenApiResponse(OpenApiTypes.BINARY, description="Informe .xlsx por fila")},
        description="Descarga el informe xlsx del lote (fila, estado, motivo, fila original).",
    )
    def get(self, request, batch_id: int):
        _require_import(request.user)
        batch = get_object_or_404(ImportBatch, pk=batch_id)
        return report_response(batch, request.user)
