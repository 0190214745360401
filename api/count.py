"""The count's API: submit a table's sheet, read its sheets, the quick count, the official import,
the discrepancies (JSON or the legal team's xlsx) and a coordinator's resolution.

Thin adapters: parse, authorise through backend.permissions, call backend.count, render.
"""

from typing import Any

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import Role
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.uploads import DiskUploadHandler
from backend.count.errors import CountErrorCode
from backend.count.exports import discrepancies_xlsx
from backend.count.models import (
    Category,
    OfficialImport,
    OfficialImportLayout,
    OfficialImportState,
    ResultSheet,
    SheetSource,
)
from backend.count.results_import import official_import_apply, official_import_upload, official_max_bytes
from backend.count.selectors import (
    category_get_by_code,
    category_get_by_id,
    discrepancy_iter,
    discrepancy_list,
    discrepancy_page,
    official_import_list,
    official_import_progress,
    quick_count,
    sheet_list_for_table,
)
from backend.count.services import SheetFigures, sheet_resolve, sheet_submit_to_table
from backend.elections.models import Area, Election, Table
from backend.permissions import Action, can, can_import, can_resolve_sheets, can_submit_sheet, role_of


class SheetOutputSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code", default="")
    photo_url = serializers.SerializerMethodField()

    class Meta:
        model = ResultSheet
        fields = [
            "id",
            "table",
            "category",
            "category_code",
            "source",
            "official",
            "status",
            "current",
            "votes",
            "blank",
            "null",
            "contested",
            "challenged",
            "voters",
            "flags",
            "photo_url",
            "photo_sha256",
            "created_at",
        ]

    def get_photo_url(self, obj) -> str:
        return obj.photo.url if obj.photo else ""


# Every submitted sheet is answered with it: rendered field by field exactly as the serializer above
# (which documents it in the schema and pins it in tests/count/test_api_and_portal.py), instead of
# the ModelSerializer mapping the model's fields to serializer fields anew on every request (cProfile
# of `POST /api/tables/<id>/sheets/`: more CPU than validating the input).
_CREATED_AT = serializers.DateTimeField()


def _sheet_data(sheet: ResultSheet) -> dict:
    return {
        "id": sheet.pk,
        "table": sheet.table_id,
        "category": sheet.category_id,
        "category_code": sheet.category.code,
        "source": sheet.source,
        "official": sheet.official,
        "status": sheet.status,
        "current": sheet.current,
        "votes": sheet.votes,
        "blank": sheet.blank,
        "null": sheet.null,
        "contested": sheet.contested,
        "challenged": sheet.challenged,
        "voters": sheet.voters,
        "flags": sheet.flags,
        "photo_url": sheet.photo.url if sheet.photo else "",
        "photo_sha256": sheet.photo_sha256,
        "created_at": _CREATED_AT.to_representation(sheet.created_at),
    }


def _category(table: Table, value: str) -> Category:
    category = category_get_by_code(election_id=table.election_id, code=value)
    if category is None and str(value).isdigit():
        category = category_get_by_id(election_id=table.election_id, pk=int(value))
    if category is None:
        raise ApplicationError(f"Categoría desconocida: {value}", code=CountErrorCode.UNKNOWN_CATEGORY)
    return category


class TableSheetsApi(APIView):
    """GET: every sheet of the table (all versions, party and official). POST: submit one sheet."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        category = serializers.CharField(max_length=16)
        votes = serializers.DictField(child=serializers.IntegerField(min_value=0, allow_null=True))
        blank = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        null = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        contested = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        challenged = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        voters = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)

        def validate_votes(self, value):
            if not all(str(k).isdigit() for k in value):
                raise serializers.ValidationError("Las claves son ids de listas.")
            return {int(k): v for k, v in value.items()}

    @extend_schema(responses={200: SheetOutputSerializer(many=True)}, operation_id="tables_sheets_list")
    def get(self, request, pk: int):
        table = get_object_or_404(Table.objects.select_related("place__area"), pk=pk)
        if not (can(request.user, Action.VIEW, table) or can_submit_sheet(request.user, table)):
            raise PermissionDenied()
        return Response(SheetOutputSerializer(sheet_list_for_table(table=table), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: SheetOutputSerializer}, operation_id="tables_sheets_submit")
    def post(self, request, pk: int):
        values = _sheet_input(request.data)
        if values is None:  # not plain well-formed JSON: the serializer says what is wrong (or parses a form)
            data = self.InputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = data.validated_data

        figures = SheetFigures(
            votes=values["votes"],
            blank=values["blank"],
            null=values["null"],
            contested=values["contested"],
            challenged=values["challenged"],
            voters=values["voters"],
        )

        def admit(table: Table) -> tuple[Category, SheetFigures]:
            if not can_submit_sheet(request.user, table):
                raise PermissionDenied()
            return _category(table, values["category"]), figures

        try:
            result = sheet_submit_to_table(
                table_id=pk, admit=admit, source=SheetSource.API, actor=request.user, photo=request.FILES.get("photo")
            )
        except Table.DoesNotExist:
            raise Http404 from None
        return Response(_sheet_data(result.sheet), status=status.HTTP_201_CREATED)


_SHEET_TOTALS = ("blank", "null", "contested", "challenged", "voters")


def _sheet_input(data) -> dict | None:
    """A JSON sheet that InputSerializer would accept unchanged, read without building the serializer
    (every sheet of the night: its fields' deep copies and validators cost more than the sheet's own
    checks); None for anything else (a form, a wrong type, a negative number, an unknown key), which
    goes through the serializer for its errors."""
    if not isinstance(data, dict) or not data.keys() <= {"category", "votes", *_SHEET_TOTALS}:
        return None
    category, votes = data.get("category"), data.get("votes")
    # Printable ASCII without surrounding spaces: what the CharField would keep as it is.
    if not isinstance(category, str) or not 0 < len(category) <= 16 or category != category.strip():
        return None
    if not (category.isascii() and category.isprintable()):
        return None
    if not isinstance(votes, dict):
        return None
    parsed_votes = {}
    for key, value in votes.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit()) or not _count(value):
            return None
        parsed_votes[int(key)] = value
    values: dict[str, Any] = {"category": category, "votes": parsed_votes}
    for name in _SHEET_TOTALS:
        value = data.get(name)
        if not _count(value):
            return None
        values[name] = value
    return values


def _count(value) -> bool:
    """Null or a non-negative JSON integer (not a bool, a float nor a string)."""
    return value is None or (type(value) is int and value >= 0)


def _scoped_area(request, election: Election) -> Area | None:
    """The area asked for (?area=id), checked against the user's scope; leads may ask for none (all)."""
    area_id = request.query_params.get("area")
    role = role_of(request.user)
    if area_id:
        area = get_object_or_404(Area, pk=area_id, election=election)
        if not can(request.user, Action.VIEW, area):
            raise PermissionDenied()
        return area
    if role != Role.LEAD:
        raise PermissionDenied()
    return None


class QuickCountApi(APIView):
    """The live parallel count of one category (?category=code) in an area (?area=id; all for leads)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="count_quick_count")
    def get(self, request, election_id: int):
        election = get_object_or_404(Election, pk=election_id)
        area = _scoped_area(request, election)
        category = Category.objects.filter(election=election, code__iexact=request.query_params.get("category", ""))
        categories = list(category) or list(Category.objects.filter(election=election))
        counts = [quick_count(election=election, category=c, area=area) for c in categories]
        return Response({"results": [_quick_count_data(c) for c in counts]})


def _quick_count_data(count) -> dict:
    data = dict(count.__dict__)
    data["lists"] = [dict(t.__dict__) for t in count.lists]
    return data


class DiscrepancyListApi(APIView):
    """Tables where our sheet and the official figure differ, ranked by votes at stake (?export=xlsx:
    spreadsheet; ?limit=&offset=: one page, `count` still says how many in all)."""

    class InputSerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=10_000, required=False, default=None)
        offset = serializers.IntegerField(min_value=0, required=False, default=0)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="count_discrepancies")
    def get(self, request, election_id: int):
        election = get_object_or_404(Election, pk=election_id)
        area = _scoped_area(request, election)
        if request.query_params.get("export") == "xlsx":
            content = discrepancies_xlsx(
                discrepancy_iter(election=election, area=area), base_url=request.build_absolute_uri("/")
            )
            response = HttpResponse(
                content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            response["Content-Disposition"] = f'attachment; filename="discrepancias-{election.slug}.xlsx"'
            return response
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        limit, offset = params.validated_data["limit"], params.validated_data["offset"]
        if limit is None:
            found = discrepancy_list(election=election, area=area)
            total = len(found)
        else:
            total, found = discrepancy_page(election=election, area=area, limit=limit, offset=offset)
        return Response(
            {
                "count": total,
                "results": [
                    {
                        "table_id": d.table_id,
                        "table": d.table,
                        "category": d.category,
                        "district": d.district,
                        "section": d.section,
                        "circuit": d.circuit,
                        "place": d.place,
                        "at_stake": d.at_stake,
                        "differences": d.differences,
                        "ours_sheet": d.ours.pk,
                        "official_sheet": d.official.pk,
                        "photo_url": d.ours.photo.url if d.ours.photo else "",
                        "watcher": d.watcher,
                    }
                    for d in found
                ],
            }
        )


class OfficialImportOutputSerializer(serializers.ModelSerializer):
    """One official results upload: its state, the worker's progress, what the check understood (or
    what the apply did), the rejected rows with their row in the file, and where to go next."""

    category = serializers.CharField(source="category.code", default=None)
    created_by = serializers.CharField(source="created_by.username")
    applied_by = serializers.CharField(source="applied_by.username", default=None)
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    row_errors = serializers.SerializerMethodField()
    understood = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField()
    apply_url = serializers.SerializerMethodField()
    discrepancies_url = serializers.SerializerMethodField()

    class Meta:
        model = OfficialImport
        fields = [
            "id",
            "election",
            "layout",
            "category",
            "create_missing",
            "file_name",
            "file_size",
            "file_sha256",
            "state",
            "progress",
            "counts",
            "row_errors",
            "understood",
            "error_code",
            "error_message",
            "created_by",
            "created_at",
            "applied_by",
            "applied_at",
            "status_url",
            "apply_url",
            "discrepancies_url",
        ]

    @staticmethod
    def _summary(job: OfficialImport) -> dict:
        return job.result or job.preview

    def get_progress(self, job: OfficialImport) -> int:
        """Percent of the file read by the worker in the current step (100 when none is running)."""
        return official_import_progress(job=job)

    def get_counts(self, job: OfficialImport) -> dict:
        summary = self._summary(job)
        names = (
            "rows",
            "sheets",
            "tables_matched",
            "unknown_table_count",
            "rejected_rows",
            "rejected_sheets",
            "categories_created",
            "lists_created",
        )
        return {name: summary.get(name, 0) for name in names}

    def get_row_errors(self, job: OfficialImport) -> list[dict]:
        """The rejected rows (the first 200; `counts.rejected_rows` says how many in all)."""
        summary = self._summary(job)
        messages = summary.get("errors", [])
        # A check stored before rows were kept beside the messages has the row in the message only.
        rows = summary.get("error_rows") or [None] * len(messages)
        return [{"row": row, "message": message} for row, message in zip(rows, messages, strict=False)]

    def get_understood(self, job: OfficialImport) -> dict:
        """The columns found by header name, the file's categories, and what is not in the election."""
        summary = self._summary(job)
        names = ("columns", "categories", "unknown_tables", "unknown_categories", "unknown_lists")
        return {name: summary.get(name, {} if name == "columns" else []) for name in names}

    def _url(self, name: str, **kwargs) -> str:
        request = self.context.get("request")
        path = reverse(name, kwargs=kwargs)
        return request.build_absolute_uri(path) if request is not None else path

    def get_status_url(self, job: OfficialImport) -> str:
        return self._url("api-official-import", pk=job.pk)

    def get_apply_url(self, job: OfficialImport) -> str | None:
        return self._url("api-official-import-apply", pk=job.pk) if job.state == OfficialImportState.PREVIEWED else None

    def get_discrepancies_url(self, job: OfficialImport) -> str | None:
        if job.state != OfficialImportState.APPLIED:
            return None
        return self._url("api-discrepancies", election_id=job.election_id)


def _require_import(user) -> None:
    if not can_import(user):
        raise PermissionDenied(_("Solo los responsables pueden importar resultados oficiales."))


class OfficialImportListApi(APIView):
    """POST: upload the authority's results per table, layout `national` (long CSV) or `wide` (one row
    per table). The file is written to disk as it arrives and stored with its SHA-256; what cannot be a
    file of that layout is refused at once (empty, not UTF-8, the other layout, missing columns, over
    the size limit: 413) and nothing is stored. The worker then checks every row (202: poll
    `status_url`); a lead applies a checked file with `apply_url`. GET: the election's recent uploads."""

    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        # An empty file gets the import's own error (`empty_file`), not the framework's.
        file = serializers.FileField(allow_empty_file=True)
        layout = serializers.ChoiceField(choices=OfficialImportLayout.choices)
        category = serializers.CharField(required=False, allow_blank=True, default="")
        create_missing = serializers.BooleanField(required=False, default=False)

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body (authentication, CSRF): the upload goes to disk, capped.
        request.upload_handlers = [DiskUploadHandler(request, max_bytes=official_max_bytes())]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        responses={200: OfficialImportOutputSerializer(many=True)}, operation_id="count_official_imports_list"
    )
    def get(self, request, election_id: int):
        _require_import(request.user)
        election = get_object_or_404(Election, pk=election_id)
        jobs = official_import_list(election=election, limit=50)
        return Response(OfficialImportOutputSerializer(jobs, many=True, context={"request": request}).data)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: OfficialImportOutputSerializer},
        operation_id="count_official_imports_upload",
    )
    def post(self, request, election_id: int):
        _require_import(request.user)
        election = get_object_or_404(Election, pk=election_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        category = None
        if values["category"]:
            category = category_get_by_code(election_id=election.pk, code=values["category"])
            if category is None:
                raise ApplicationError(
                    _("Categoría desconocida: %(code)s") % {"code": values["category"]},
                    code=CountErrorCode.UNKNOWN_CATEGORY,
                )
        job = official_import_upload(
            election=election,
            layout=values["layout"],
            upload=values["file"],
            actor=request.user,
            category=category,
            create_missing=values["create_missing"],
        )
        body = OfficialImportOutputSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _official_job(pk: int) -> OfficialImport:
    return get_object_or_404(
        OfficialImport.objects.select_related("election", "category", "created_by", "applied_by"), pk=pk
    )


class OfficialImportDetailApi(APIView):
    """An official results upload: state (checking, previewed, applying, applied, failed), progress,
    counts, rejected rows with their row number, the failure's code and message, the next link."""

    @extend_schema(responses={200: OfficialImportOutputSerializer}, operation_id="count_official_import_status")
    def get(self, request, pk: int):
        _require_import(request.user)
        job = _official_job(pk)
        return Response(OfficialImportOutputSerializer(job, context={"request": request}).data)


class OfficialImportApplyApi(APIView):
    """Apply a checked upload (state `previewed`) in the background; 202, poll `status_url`. A second
    call, or a call before the check ends, is refused (`count_import_state`)."""

    @extend_schema(
        request=None, responses={202: OfficialImportOutputSerializer}, operation_id="count_official_import_apply"
    )
    def post(self, request, pk: int):
        _require_import(request.user)
        job = official_import_apply(job=_official_job(pk), actor=request.user)
        return Response(
            OfficialImportOutputSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED
        )


class SheetResolveApi(APIView):
    """A coordinator chooses the sheet that stands (a differing one, or the current one to keep it), with a reason."""

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(max_length=300)
        ask_back = serializers.BooleanField(required=False, default=False)

    @extend_schema(request=InputSerializer, responses={200: SheetOutputSerializer}, operation_id="count_sheet_resolve")
    def post(self, request, pk: int):
        sheet = get_object_or_404(ResultSheet.objects.select_related("table__place__area"), pk=pk)
        if not can_resolve_sheets(request.user, sheet.table):
            raise PermissionDenied()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sheet = sheet_resolve(sheet=sheet, actor=request.user, note=values["note"], ask_back=values["ask_back"])
        return Response(SheetOutputSerializer(sheet).data)
