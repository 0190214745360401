"""The table's timeline API: read a table's reports and state, report a state, correct one.

Thin adapters: parse, authorise through the permission module, call `backend.tableday`, render.
A watcher reports for their own table, the fiscal general for any table of their school, a
coordinator for any table in scope; only a coordinator (or lead) corrects.
"""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import Role
from backend.assignments.models import EventSource
from backend.core.exceptions import PermissionDenied
from backend.elections.models import Table
from backend.elections.selectors import table_get_with_area
from backend.permissions import Action, can, can_report_table, role_of
from backend.tableday.models import TableReport, TableState
from backend.tableday.selectors import table_for_report, table_report_list_loaded, table_status_from_reports
from backend.tableday.services import table_report


class TableReportOutputSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display")
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = TableReport
        fields = ["id", "state", "state_label", "channel", "correction", "note", "actor", "actor_name", "created_at"]

    def get_actor_name(self, obj) -> str:
        return obj.actor.get_full_name() or obj.actor.get_username() if obj.actor_id else ""


class TimelineOutputSerializer(serializers.Serializer):
    table = serializers.IntegerField()
    number = serializers.IntegerField()
    state = serializers.ChoiceField(choices=TableState.choices)
    watcher_absent = serializers.CharField(allow_blank=True)
    changed = serializers.BooleanField()
    reports = TableReportOutputSerializer(many=True)


# The answer to every report is the whole timeline, rendered here field by field exactly as the
# serializers above (which document it in the schema and pin it in tests/api/test_tables.py): building
# the serializers' fields anew per request (ModelSerializer maps the model's fields every time) cost
# more CPU than the report's own service (cProfile of `POST /api/tables/<id>/reports/`).
_CREATED_AT = serializers.DateTimeField()
# The labels stay lazy (translated when rendered, in the request's language); `get_state_display()`
# hashes every choice's label to look one up, translating each of them on every report.
_STATE_LABELS = dict(TableState.choices)


def _report_data(report: TableReport) -> dict:
    actor = report.actor
    return {
        "id": report.pk,
        "state": report.state,
        "state_label": str(_STATE_LABELS.get(report.state, report.state)),
        "channel": report.channel,
        "correction": report.correction,
        "note": report.note,
        "actor": report.actor_id,
        "actor_name": (actor.get_full_name() or actor.get_username()) if actor is not None else "",
        "created_at": _CREATED_AT.to_representation(report.created_at),
    }


def _timeline(table: Table, changed: bool) -> dict:
    reports = table_report_list_loaded(table_id=table.pk)  # one read: the reports, and the state folded from them
    status = table_status_from_reports(reports)
    return {
        "table": table.pk,
        "number": table.number,
        "state": status.state,
        "watcher_absent": status.watcher_absent,
        "changed": changed,
        "reports": [_report_data(report) for report in reports],
    }


def _table(pk: int) -> Table:
    table = table_get_with_area(pk=pk)
    if table is None:
        raise Http404
    return table


class TableTimelineApi(APIView):
    """GET: the table's state and reports, oldest first. POST: report a state (or correct it)."""

    class InputSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=TableState.choices)
        correction = serializers.BooleanField(required=False, default=False)
        note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    @extend_schema(responses={200: TimelineOutputSerializer}, operation_id="tables_timeline")
    def get(self, request, pk: int):
        table = _table(pk)
        if not can(request.user, Action.VIEW, table):
            raise PermissionDenied()
        return Response(_timeline(table, changed=False))

    @extend_schema(request=InputSerializer, responses={200: TimelineOutputSerializer}, operation_id="tables_report")
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        found = table_for_report(pk=pk, user=request.user)  # the table, the duty and the state in one read
        if found is None:
            raise Http404
        table = found.table
        correction = data.validated_data["correction"]
        if correction:
            allowed = role_of(request.user) in {Role.LEAD, Role.COORDINATOR} and can(request.user, Action.CHANGE, table)
        else:
            allowed = can_report_table(request.user, table, on_duty=found.on_duty)
        if not allowed:
            raise PermissionDenied()
        result = table_report(
            table=table,
            state=data.validated_data["state"],
            actor=request.user,
            channel=EventSource.API,
            correction=correction,
            note=data.validated_data["note"],
            facts=found.facts,
        )
        return Response(_timeline(table, changed=result.changed))
