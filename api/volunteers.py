"""Volunteers API: the search box, a person's data, and its edit (the console's volunteer pages).

Thin adapters: parse, authorise through `backend.permissions`, call
`backend.volunteers.selectors` or `services`, render. A coordinator reads and edits only the
people of their subtree; a volunteer reads only their own record.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.assignments.models import EventSource
from backend.permissions import Action, require
from backend.volunteers.models import Availability, Channel, RolesAccepted, Volunteer
from backend.volunteers.selectors import volunteer_search
from backend.volunteers.services import volunteer_update

SOURCE = EventSource.API
LIMIT = 50


class VolunteerOutputSerializer(serializers.ModelSerializer):
    availability_label = serializers.CharField(source="get_availability_display")
    roles_accepted_label = serializers.CharField(source="get_roles_accepted_display")
    area_name = serializers.CharField(source="area.name", allow_null=True, default=None)
    votes_at_name = serializers.CharField(source="votes_at.name", allow_null=True, default=None)

    class Meta:
        model = Volunteer
        fields = [
            "id",
            "dni",
            "first_name",
            "last_name",
            "phone",
            "email",
            "area",
            "area_name",
            "votes_at",
            "votes_at_name",
            "availability",
            "availability_label",
            "roles_accepted",
            "roles_accepted_label",
            "trained",
            "notes",
            "opted_out",
            "channel",
            "whatsapp_inbound_at",
            "excluded",
            "excluded_reason",
            "last_seen_web_at",
        ]


class VolunteerListApi(APIView):
    """GET ?q=...: people in the user's scope matching a name, DNI or phone in any notation (50 at most)."""

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="nombre, DNI o celular")],
        responses={200: VolunteerOutputSerializer(many=True)},
        operation_id="volunteers_list",
    )
    def get(self, request):
        query = str(request.query_params.get("q", ""))[:200]
        rows = volunteer_search(user=request.user, query=query, limit=LIMIT)
        return Response(VolunteerOutputSerializer(rows, many=True).data)


class VolunteerDetailApi(APIView):
    """GET a person's data; PATCH {phone?, availability?, roles_accepted?, trained?, excluded?,
    excluded_reason?, notes?, email?, channel?}: through `volunteer_update`, audited with old and new values."""

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
        email = serializers.CharField(required=False, allow_blank=True, max_length=254)
        availability = serializers.ChoiceField(required=False, choices=Availability.choices)
        roles_accepted = serializers.ChoiceField(required=False, choices=RolesAccepted.choices)
        trained = serializers.BooleanField(required=False)
        excluded = serializers.BooleanField(required=False)
        excluded_reason = serializers.CharField(required=False, allow_blank=True, max_length=255)
        notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
        channel = serializers.ChoiceField(required=False, choices=Channel.choices)

    def _get(self, pk: int) -> Volunteer:
        return get_object_or_404(Volunteer.objects.select_related("area", "votes_at__area"), pk=pk)

    @extend_schema(responses={200: VolunteerOutputSerializer}, operation_id="volunteers_detail")
    def get(self, request, pk: int):
        volunteer = self._get(pk)
        require(request.user, Action.VIEW, volunteer)
        return Response(VolunteerOutputSerializer(volunteer).data)

    @extend_schema(
        request=InputSerializer, responses={200: VolunteerOutputSerializer}, operation_id="volunteers_update"
    )
    def patch(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        volunteer = self._get(pk)
        require(request.user, Action.CHANGE, volunteer)
        volunteer_update(volunteer=volunteer, actor=request.user, source=SOURCE, **data.validated_data)
        return Response(VolunteerOutputSerializer(self._get(pk)).data)
