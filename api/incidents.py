"""Incidents API: list and report, take, resolve, add a note, set the category.

Thin adapters: parse, authorise through the permission module (an incident is seen and handled
by whoever may see or change its place), call `backend.incidents.services`, render. A watcher
reports for their own place; coordinators handle the incidents of their areas.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import Role
from backend.assignments.models import EventSource
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.elections.models import PollingPlace
from backend.elections.selectors import place_get_with_area, table_get_with_area
from backend.incidents import services
from backend.incidents.categories import categories_for
from backend.incidents.models import Incident, IncidentStatus, Severity
from backend.permissions import Action, can, can_report_incident, role_of, visible

SOURCE = EventSource.API


class IncidentOutputSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    table_number = serializers.IntegerField(source="table.number", allow_null=True, default=None)
    place_name = serializers.CharField(source="place.name")
    events = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "id",
            "election",
            "place",
            "place_name",
            "table",
            "table_number",
            "category",
            "category_code",
            "category_name",
            "category_confirmed",
            "severity",
            "text",
            "status",
            "channel",
            "reporter",
            "owner",
            "created_at",
            "taken_at",
            "resolved_at",
            "escalation_level",
            "events",
        ]

    def get_events(self, obj) -> list[dict]:
        return list(
            obj.events.order_by("id").values("kind", "actor", "channel", "from_value", "to_value", "text", "created_at")
        )


def _render(incident: Incident) -> dict:
    incident = Incident.objects.select_related("place", "table", "category").get(pk=incident.pk)
    return IncidentOutputSerializer(incident).data


def _incident_for(user, pk: int, action: Action) -> Incident:
    incident = get_object_or_404(Incident.objects.select_related("place__area", "table", "category"), pk=pk)
    if not can(user, action, incident.place):
        raise PermissionDenied()
    return incident


def _handler(user, incident: Incident) -> None:
    # Taking, resolving and recategorising are for coordinators (and leads) of the place's area.
    if role_of(user) not in {Role.LEAD, Role.COORDINATOR} or not can(user, Action.CHANGE, incident.place):
        raise PermissionDenied()


class IncidentListApi(APIView):
    """GET: the incidents the user may see (filter by status). POST: report one."""

    class InputSerializer(serializers.Serializer):
        place = serializers.IntegerField()
        table = serializers.IntegerField(required=False, allow_null=True, default=None)
        text = serializers.CharField(max_length=2000)
        category = serializers.CharField(required=False, allow_blank=True, default="", max_length=32)
        severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True, default=None)

    @extend_schema(responses={200: IncidentOutputSerializer(many=True)}, operation_id="incidents_list")
    def get(self, request):
        places = visible(request.user, PollingPlace.objects.all())
        qs = Incident.objects.filter(place__in=places).select_related("place", "table", "category")
        status_filter = request.query_params.get("status", "")
        if status_filter:
            if status_filter not in IncidentStatus.values:
                raise ApplicationError(
                    _("Estado de incidente desconocido: %(s)s.") % {"s": status_filter}, code="invalid_status"
                )
            qs = qs.filter(status=status_filter)
        return Response(IncidentOutputSerializer(qs[:500], many=True).data)

    @extend_schema(request=InputSerializer, responses={201: IncidentOutputSerializer}, operation_id="incidents_report")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        place = place_get_with_area(pk=data.validated_data["place"])
        if place is None:
            raise Http404
        if not can_report_incident(request.user, place):
            raise PermissionDenied()
        table = None
        if data.validated_data["table"] is not None:
            table = table_get_with_area(pk=data.validated_data["table"])
            if table is None:
                raise Http404
        category = None
        if data.validated_data["category"]:
            code = data.validated_data["category"]
            category = next((c for c in categories_for(place.election) if c.code == code), None)
            if category is None:
                raise ApplicationError(
                    _("Categoría desconocida: %(c)s.") % {"c": data.validated_data["category"]},
                    code="incident_wrong_category",
                )
        incident = services.incident_report(
            place=place,
            table=table,
            text=data.validated_data["text"],
            category=category,
            severity=data.validated_data["severity"],
            actor=request.user,
            channel=SOURCE,
        )
        # Rendered from what the service returned (its place, table and category are the ones passed or
        # chosen here): no second read of the incident just written.
        return Response(IncidentOutputSerializer(incident).data, status=201)


class IncidentTakeApi(APIView):
    @extend_schema(request=None, responses={200: IncidentOutputSerializer}, operation_id="incidents_take")
    def post(self, request, pk: int):
        incident = _incident_for(request.user, pk, Action.VIEW)
        _handler(request.user, incident)
        return Response(_render(services.incident_take(incident=incident, actor=request.user, channel=SOURCE)))


class IncidentResolveApi(APIView):
    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")

    @extend_schema(request=InputSerializer, responses={200: IncidentOutputSerializer}, operation_id="incidents_resolve")
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = _incident_for(request.user, pk, Action.VIEW)
        _handler(request.user, incident)
        resolved = services.incident_resolve(
            incident=incident, actor=request.user, channel=SOURCE, note=data.validated_data["note"]
        )
        return Response(_render(resolved))


class IncidentNoteApi(APIView):
    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=2000)

    @extend_schema(request=InputSerializer, responses={200: IncidentOutputSerializer}, operation_id="incidents_note")
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = _incident_for(request.user, pk, Action.VIEW)
        _handler(request.user, incident)
        services.incident_note_add(
            incident=incident, actor=request.user, channel=SOURCE, text=data.validated_data["text"]
        )
        return Response(_render(incident))
