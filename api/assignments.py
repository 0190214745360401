"""Assignments API: list, detail, manual operations, coverage, candidates and auto-assign.

Thin adapters: parse, authorise through `backend.permissions`, call a service or a
selector, render. A coordinator sees and changes only their subtree.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import AssignmentCursorPagination
from backend.accounts.models import Role
from backend.assignments import selectors, services
from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus, EventSource, Shift
from backend.assignments.tasks import auto_assign_start, auto_assign_status
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.elections.models import Area, Election, PollingPlace, Table
from backend.permissions import Action, can, require, role_of
from backend.tableday.services import shift_hand_over, watcher_check_in
from backend.volunteers.models import Volunteer

SOURCE = EventSource.API


class AssignmentOutputSerializer(serializers.ModelSerializer):
    volunteer_name = serializers.CharField(source="volunteer.full_name")
    place_code = serializers.CharField(source="place.code")
    place_name = serializers.CharField(source="place.name")
    table_number = serializers.IntegerField(source="table.number", allow_null=True, default=None)
    status_label = serializers.CharField(source="get_status_display")
    role_label = serializers.CharField(source="get_role_display")
    shift_label = serializers.CharField(source="get_shift_display")

    class Meta:
        model = Assignment
        fields = [
            "id",
            "election",
            "volunteer",
            "volunteer_name",
            "place",
            "place_code",
            "place_name",
            "table",
            "table_number",
            "role",
            "role_label",
            "slot",
            "shift",
            "shift_label",
            "status",
            "status_label",
            "locked",
            "reason",
            "cost",
            "replaces",
            "created_at",
            "updated_at",
        ]


def _render(assignment: Assignment) -> dict:
    assignment = Assignment.objects.select_related("volunteer", "place", "table").get(pk=assignment.pk)
    return AssignmentOutputSerializer(assignment).data


def _election(slug_or_id) -> Election:
    if slug_or_id in (None, ""):
        raise ApplicationError(_("Indicá la elección."), code="election_required")
    lookup = {"pk": slug_or_id} if str(slug_or_id).isdigit() else {"slug": slug_or_id}
    return get_object_or_404(Election, **lookup)


def _area(election: Election, area_id) -> Area | None:
    if area_id in (None, ""):
        return None
    if not str(area_id).isdigit():
        raise ApplicationError(_("El área debe ser un número de identificador."), code="invalid_area")
    return get_object_or_404(Area, pk=area_id, election=election)


def _assignment(pk: int) -> Assignment:
    return get_object_or_404(Assignment.objects.select_related("place__area", "volunteer", "table"), pk=pk)


class AssignmentListApi(ListAPIView):
    """GET ?election=SLUG[&area=ID][&place=ID][&status=...][&active=1][&cursor=...]: assignments the
    user may see, grouped by place; follow `next` for the following page (cursor pagination)."""

    serializer_class = AssignmentOutputSerializer
    pagination_class = AssignmentCursorPagination

    def get_queryset(self):
        params = self.request.query_params
        election = _election(params.get("election"))
        area = _area(election, params.get("area"))
        place = None
        if params.get("place", "").isdigit():
            place = get_object_or_404(PollingPlace, pk=params["place"], election=election)
        wanted = params.get("status") or None
        if wanted and wanted not in AssignmentStatus.values:
            raise ApplicationError(_("Estado desconocido: %(s)s.") % {"s": wanted}, code="invalid_status")
        return selectors.assignment_list_visible(
            user=self.request.user,
            election=election,
            area=area,
            place=place,
            status=wanted,
            active_only=params.get("active") in ("1", "true"),
        )


class AssignmentDetailApi(APIView):
    class EventSerializer(serializers.Serializer):
        kind = serializers.CharField()
        # The API field is called "source" like Field.source; DRF's metaclass moves it off the class.
        source = serializers.CharField()  # type: ignore[assignment]
        from_status = serializers.CharField()
        to_status = serializers.CharField()
        reason = serializers.CharField()
        actor = serializers.CharField(source="actor.username", default=None)
        created_at = serializers.DateTimeField()

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="assignments_detail")
    def get(self, request, pk: int):
        assignment = _assignment(pk)
        require(request.user, Action.VIEW, assignment)
        data = _render(assignment)
        data["events"] = self.EventSerializer(assignment.events.select_related("actor"), many=True).data
        return Response(data)


class AssignApi(APIView):
    """POST {volunteer, place, table?, role, shift?, slot?, reason?, locked?, allow_absent?}: the manual assign.

    Cost and reason are the service's (the one cost rule); `reason` is the coordinator's note.
    `shift`: day (default), morning or afternoon of a table slot (`slot`: which one; the first free
    by default)."""

    class InputSerializer(serializers.Serializer):
        volunteer = serializers.IntegerField()
        place = serializers.IntegerField()
        table = serializers.IntegerField(required=False, allow_null=True)
        role = serializers.ChoiceField(choices=AssignmentRole.choices)
        reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
        locked = serializers.BooleanField(required=False, default=False)
        allow_absent = serializers.BooleanField(required=False, default=False)
        shift = serializers.ChoiceField(choices=Shift.choices, required=False, default=Shift.DAY)
        slot = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=99, default=None)

    @extend_schema(
        request=InputSerializer, responses={201: AssignmentOutputSerializer}, operation_id="assignments_assign"
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        place = get_object_or_404(PollingPlace.objects.select_related("area", "election"), pk=d["place"])
        table = get_object_or_404(Table, pk=d["table"]) if d.get("table") else None
        volunteer = get_object_or_404(Volunteer.objects.select_related("area", "votes_at__area"), pk=d["volunteer"])
        require(request.user, Action.CHANGE, place)
        require(request.user, Action.CHANGE, volunteer)
        assignment = services.assignment_create(
            volunteer=volunteer,
            place=place,
            table=table,
            role=d["role"],
            actor=request.user,
            source=SOURCE,
            reason=d["reason"],
            locked=d["locked"],
            allow_absent=d["allow_absent"],
            shift=d["shift"],
            slot=d["slot"],
        )
        return Response(_render(assignment), status=status.HTTP_201_CREATED)


class _ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


class UnassignApi(APIView):
    InputSerializer = _ReasonInput

    @extend_schema(
        request=_ReasonInput, responses={200: AssignmentOutputSerializer}, operation_id="assignments_unassign"
    )
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _assignment(pk)
        require(request.user, Action.CHANGE, assignment)
        done = services.assignment_unassign(
            assignment=assignment, actor=request.user, source=SOURCE, reason=data.validated_data["reason"]
        )
        return Response(_render(done))


class ShiftApi(APIView):
    """POST {shift, reason}: a coordinator moves a table watcher to the whole day, the morning or the
    afternoon of their slot (the console's *Cambiar turno*); refused with `shift_clash` when another
    watcher holds that part of the slot. The volunteer is told by SMS."""

    class InputSerializer(_ReasonInput):
        shift = serializers.ChoiceField(choices=Shift.choices)

    @extend_schema(
        request=InputSerializer, responses={200: AssignmentOutputSerializer}, operation_id="assignments_shift"
    )
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _assignment(pk)
        require(request.user, Action.CHANGE, assignment)
        done = services.assignment_set_shift(
            assignment=assignment,
            shift=data.validated_data["shift"],
            actor=request.user,
            source=SOURCE,
            reason=data.validated_data["reason"],
        )
        return Response(_render(done))


class LockApi(APIView):
    InputSerializer = _ReasonInput
    locked = True

    @extend_schema(request=_ReasonInput, responses={200: AssignmentOutputSerializer})
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _assignment(pk)
        require(request.user, Action.CHANGE, assignment)
        done = services.assignment_set_locked(
            assignment=assignment,
            locked=self.locked,
            actor=request.user,
            source=SOURCE,
            reason=data.validated_data["reason"],
        )
        return Response(_render(done))


class UnlockApi(LockApi):
    locked = False


class DeclineApi(APIView):
    """POST: mark declined (a coordinator, or the volunteer for their own); proposes a replacement."""

    InputSerializer = _ReasonInput

    @extend_schema(request=_ReasonInput, responses={200: OpenApiTypes.OBJECT}, operation_id="assignments_decline")
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _assignment(pk)
        if not (can(request.user, Action.CHANGE, assignment) or can(request.user, Action.RESPOND, assignment)):
            raise PermissionDenied()
        declined = services.assignment_decline(
            assignment=assignment, actor=request.user, source=SOURCE, reason=data.validated_data["reason"]
        )
        replacement = declined.replacement
        # A volunteer declining their own slot does not get to see who replaces them.
        shown = replacement if replacement is not None and can(request.user, Action.VIEW, replacement) else None
        return Response({"declined": _render(declined), "replacement": _render(shown) if shown is not None else None})


class _RespondApi(APIView):
    """A coordinator in scope, or the volunteer for their own assignment."""

    def _respond(self, request, pk: int, service) -> Response:
        assignment = _assignment(pk)
        if not (can(request.user, Action.CHANGE, assignment) or can(request.user, Action.RESPOND, assignment)):
            raise PermissionDenied()
        return Response(_render(service(assignment=assignment, actor=request.user, source=SOURCE)))


class ConfirmApi(_RespondApi):
    """POST: the volunteer will be there (what SI by SMS and the portal's button do)."""

    @extend_schema(request=None, responses={200: AssignmentOutputSerializer}, operation_id="assignments_confirm")
    def post(self, request, pk: int):
        return self._respond(request, pk, services.assignment_confirm)


class CheckInApi(_RespondApi):
    """POST: the watcher arrived (what LLEGUE by SMS, the portal and the console's button do)."""

    @extend_schema(request=None, responses={200: AssignmentOutputSerializer}, operation_id="assignments_check_in")
    def post(self, request, pk: int):
        return self._respond(request, pk, watcher_check_in)


class HandOverApi(_RespondApi):
    """POST: the morning-shift watcher hands the table over to the afternoon one, who has arrived
    (what ENTREGO by SMS and the portal's button do); refused otherwise with a stable code."""

    @extend_schema(request=None, responses={200: AssignmentOutputSerializer}, operation_id="assignments_hand_over")
    def post(self, request, pk: int):
        return self._respond(request, pk, lambda **kw: shift_hand_over(**kw).assignment)


class ReplaceApi(APIView):
    """POST {volunteer}: election day, the watcher did not arrive; they are marked absent (or their
    untold proposal cancelled) and `volunteer` takes the slot, in one transaction (the board's *Reemplazar*)."""

    class InputSerializer(serializers.Serializer):
        volunteer = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer, responses={201: AssignmentOutputSerializer}, operation_id="assignments_replace"
    )
    def post(self, request, pk: int):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = _assignment(pk)
        require(request.user, Action.CHANGE, assignment)
        volunteer = get_object_or_404(Volunteer, pk=data.validated_data["volunteer"])
        require(request.user, Action.VIEW, volunteer)
        new = services.late_watcher_replace(
            assignment=assignment, volunteer=volunteer, actor=request.user, source=SOURCE
        )
        return Response(_render(new), status=status.HTTP_201_CREATED)


class SwapApi(APIView):
    class InputSerializer(serializers.Serializer):
        first = serializers.IntegerField()
        second = serializers.IntegerField()
        reason = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT}, operation_id="assignments_swap")
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        first, second = _assignment(d["first"]), _assignment(d["second"])
        require(request.user, Action.CHANGE, first)
        require(request.user, Action.CHANGE, second)
        a, b = services.assignment_swap(
            first=first, second=second, actor=request.user, source=SOURCE, reason=d["reason"]
        )
        return Response({"first": _render(a), "second": _render(b)})


def _staff(user) -> None:
    if role_of(user) not in (Role.LEAD, Role.COORDINATOR):
        raise PermissionDenied()


class CoverageAreaApi(APIView):
    """GET ?election=SLUG[&area=ID][&max_depth=N]: the area tree with slots/assigned/confirmed/checked in."""

    @extend_schema(
        parameters=[
            OpenApiParameter("election", str, required=True),
            OpenApiParameter("area", int),
            OpenApiParameter("max_depth", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="assignments_coverage_areas",
    )
    def get(self, request):
        _staff(request.user)
        election = _election(request.query_params.get("election"))
        area = _area(election, request.query_params.get("area"))
        if area is not None:
            require(request.user, Action.VIEW, area)
        max_depth = request.query_params.get("max_depth")
        if max_depth not in (None, "") and not str(max_depth).isdigit():
            raise ApplicationError(_("max_depth debe ser un número."), code="invalid_max_depth")
        nodes = selectors.coverage_by_area(
            user=request.user, election=election, area=area, max_depth=int(max_depth) if max_depth else None
        )
        return Response({"election": election.slug, "areas": nodes})


class CoveragePlaceApi(APIView):
    """GET ?election=SLUG[&area=ID]: one row per polling place."""

    @extend_schema(
        parameters=[OpenApiParameter("election", str, required=True), OpenApiParameter("area", int)],
        responses={200: OpenApiTypes.OBJECT},
        operation_id="assignments_coverage_places",
    )
    def get(self, request):
        _staff(request.user)
        election = _election(request.query_params.get("election"))
        area = _area(election, request.query_params.get("area"))
        if area is not None:
            require(request.user, Action.VIEW, area)
        return Response(
            {
                "election": election.slug,
                "places": selectors.coverage_by_place(user=request.user, election=election, area=area),
            }
        )


class CoverageTableApi(APIView):
    """GET: a place's slots one by one (general and each table) with who holds them."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="assignments_coverage_tables")
    def get(self, request, place_id: int):
        place = get_object_or_404(PollingPlace.objects.select_related("area", "election"), pk=place_id)
        _staff(request.user)
        require(request.user, Action.VIEW, place)
        return Response(selectors.coverage_by_table(user=request.user, place=place))


class CandidatesApi(APIView):
    """GET ?place=ID&role=table|place[&table=ID][&slot=0][&shift=day|morning|afternoon][&limit=20][&include_absent=1]:
    best available volunteers; those marked absent today only when the coordinator asks for them."""

    class InputSerializer(serializers.Serializer):
        place = serializers.IntegerField()
        role = serializers.ChoiceField(choices=AssignmentRole.choices)
        table = serializers.IntegerField(required=False, allow_null=True)
        slot = serializers.IntegerField(required=False, default=0, min_value=0)
        limit = serializers.IntegerField(required=False, default=20, min_value=1, max_value=200)
        include_absent = serializers.BooleanField(required=False, default=False)
        shift = serializers.ChoiceField(choices=Shift.choices, required=False, default=Shift.DAY)

    class OutputSerializer(serializers.Serializer):
        volunteer_id = serializers.IntegerField()
        name = serializers.CharField()
        cost_m = serializers.FloatField()
        reason = serializers.CharField()
        votes_here = serializers.BooleanField()
        trained = serializers.BooleanField()
        availability = serializers.CharField()
        roles_accepted = serializers.CharField()

    @extend_schema(parameters=[InputSerializer], responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        place = get_object_or_404(PollingPlace.objects.select_related("area", "election"), pk=d["place"])
        require(request.user, Action.CHANGE, place)
        table = get_object_or_404(Table, pk=d["table"], place=place) if d.get("table") else None
        if (d["role"] == AssignmentRole.TABLE) != (table is not None):
            raise ApplicationError(
                _("Un fiscal de mesa necesita una mesa; un fiscal general no."), code="role_mismatch"
            )
        found = selectors.candidates_for_slot(
            place=place,
            role=d["role"],
            table=table,
            slot=d["slot"],
            limit=d["limit"],
            user=request.user,
            include_absent=d["include_absent"],
            shift=d["shift"],
        )
        return Response({"candidates": self.OutputSerializer(found, many=True).data})


class AutoAssignApi(APIView):
    """POST {election, area?, dry_run, notify?}: run auto-assign as a task; 200 with the result when
    it finished (always in development), 202 with the run id to poll otherwise."""

    class InputSerializer(serializers.Serializer):
        election = serializers.CharField()
        area = serializers.IntegerField(required=False, allow_null=True)
        dry_run = serializers.BooleanField(default=True)
        notify = serializers.BooleanField(default=False)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        election = _election(d["election"])
        area = _area(election, d.get("area"))
        if area is not None:
            require(request.user, Action.CHANGE, area)
        run_id = auto_assign_start(
            election=election, area=area, dry_run=d["dry_run"], notify=d["notify"], actor=request.user
        )
        run = auto_assign_status(run_id) or {"run_id": run_id, "state": "queued"}
        if run.get("state") == "failed":
            raise ApplicationError(
                run.get("error") or _("La asignación automática falló."), code=run.get("code", "failed")
            )
        return Response(run, status=status.HTTP_200_OK if run.get("state") == "done" else status.HTTP_202_ACCEPTED)


class AutoAssignStatusApi(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, run_id: str):
        run = auto_assign_status(run_id)
        if run is None or (run.get("user_id") != request.user.pk and role_of(request.user) != Role.LEAD):
            return Response(
                {"code": "not_found", "message": _("No existe esa ejecución."), "detail": {}},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(run)
