"""One door per use case: the same assignment rule whichever way the request arrives.

Console, API, SMS command, volunteer page and Celery task each drive the same use case; the
rows, events and notices that come out must be the same.
"""

import uuid

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.assignments.engine import plan_build
from backend.assignments.engine.candidates import pair_costs
from backend.assignments.errors import AssignmentErrorCode
from backend.assignments.models import Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus
from backend.assignments.selectors import candidates_for_slot
from backend.assignments.services import assignment_create, assignment_transition, auto_assign, late_watcher_replace
from backend.assignments.tasks import auto_assign_start, auto_assign_status
from backend.core import live
from backend.core.exceptions import ApplicationError
from backend.messaging.models import OutboundMessage
from backend.notices.models import Notice, NoticeKind

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _sms(phone: str, body: str) -> dict:
    return {
        "MessageSid": f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


# --- eligibility and cost: one function each --------------------------------------------------


@pytest.fixture
def three_kinds(geo):
    """A voter at the north school, a neighbour with coordinates, and one known only by her town."""
    return {
        "voter": VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name="Ana", last_name="Voto"),
        "neighbour": VolunteerFactory(
            area=geo.north_town, latitude=-30.99, longitude=-64.10, first_name="Bea", last_name="Cerca"
        ),
        "townie": VolunteerFactory(area=geo.north_town, first_name="Carla", last_name="Pueblo"),
    }


def test_cost_and_reason_agree_between_engine_candidate_list_api_and_console(
    client, geo, lead, north_coordinator, three_kinds
):
    # given: what the engine and the candidate list say of each volunteer at the north school
    plan = plan_build(election=geo.election, area=geo.north)
    engine = {}
    for i, vid in enumerate(plan.snap.vol_id.tolist()):
        pair = pair_costs(plan.snap, [i], [plan.snap.place_index[geo.north_place.pk]])
        engine[vid] = float(pair.cost[0])
    listed = {
        c.volunteer_id: (c.cost_m, c.reason)
        for c in candidates_for_slot(place=geo.north_place, role="table", table=geo.north_tables[0], limit=10)
    }
    # when: the voter and the neighbour are assigned by the API, the townie by the console
    api = _api(north_coordinator)
    for name, table in (("voter", 0), ("neighbour", 1)):
        response = api.post(
            "/api/assignments/assign/",
            {
                "volunteer": three_kinds[name].pk,
                "place": geo.north_place.pk,
                "table": geo.north_tables[table].pk,
                "role": "table",
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
    client.force_login(north_coordinator)
    client.post(
        reverse("console:assign"),
        {
            "place": geo.north_place.pk,
            "table": geo.north_tables[2].pk,
            "role": "table",
            "volunteer": three_kinds["townie"].pk,
        },
    )
    # then: every door stored the cost and reason the engine and the list computed
    stored = {a.volunteer_id: (a.cost, a.reason) for a in Assignment.objects.filter(place=geo.north_place)}
    assert set(stored) == {v.pk for v in three_kinds.values()}
    for vid, (cost, reason) in stored.items():
        assert cost == pytest.approx(engine[vid], abs=0.1)
        assert (round(cost, 1), reason) == listed[vid]
    assert stored[three_kinds["voter"].pk] == (0.0, "vota en este establecimiento")
    assert stored[three_kinds["townie"].pk] == (2000.0, "misma localidad")
    # and the person's note, not a made-up reason, is what the audit row keeps
    notes = set(AssignmentEvent.objects.filter(kind="created").values_list("source", "reason"))
    assert notes == {("api", "asignación manual"), ("web", "asignación manual")}


def test_eligibility_speaks_the_same_words_to_the_engine_and_to_a_manual_assignment(geo):
    # given: a half-day volunteer and an election with no substitute slots
    half_day = VolunteerFactory(area=geo.north_town, availability="morning")
    # when
    plan = plan_build(election=geo.election, area=geo.north)
    with pytest.raises(ApplicationError) as refused:
        assignment_create(
            volunteer=half_day, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
        )
    # then: the engine leaves her out, and the manual door says why with the rule's words
    assert half_day.pk not in plan.snap.vol_id.tolist()
    assert refused.value.code == AssignmentErrorCode.NOT_ELIGIBLE
    assert refused.value.extra["problems"] == ["solo está disponible medio día; un puesto titular necesita todo el día"]


# --- absent volunteers are not offered again that day -------------------------------------------


@pytest.fixture
def marked_absent(geo, north_coordinator):
    """Rosa confirmed table 1 of the north school and did not show up: the board replaced her."""
    rosa = VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name="Rosa", last_name="Ausente")
    late = assignment_create(
        volunteer=rosa, place=geo.north_place, table=geo.north_tables[0], role="table", source="web", notify=False
    )
    late = assignment_transition(assignment=late, to_status=AssignmentStatus.CONFIRMED, source="sms")
    substitute = VolunteerFactory(area=geo.north_town, first_name="Sara", last_name="Suplente")
    late_watcher_replace(assignment=late, volunteer=substitute, actor=north_coordinator, source="web")
    late.refresh_from_db()
    assert late.status == AssignmentStatus.NO_SHOW
    return rosa


def test_an_absent_volunteer_is_neither_offered_nor_auto_proposed(geo, marked_absent):
    # when
    offered = candidates_for_slot(place=geo.north_place, role="table", table=geo.north_tables[1], limit=50)
    result = auto_assign(election=geo.election, area=geo.north, dry_run=True)
    # then
    assert marked_absent.pk not in {c.volunteer_id for c in offered}
    assert marked_absent.pk not in {c.volunteer_id for c in result.changes}


def test_the_candidate_api_offers_an_absent_volunteer_only_when_asked(geo, north_coordinator, marked_absent):
    # given
    api = _api(north_coordinator)
    query = {"place": geo.north_place.pk, "role": "table", "table": geo.north_tables[1].pk, "limit": 50}
    # when
    plain = api.get("/api/assignments/candidates/", query)
    asked = api.get("/api/assignments/candidates/", {**query, "include_absent": "true"})
    # then
    assert marked_absent.pk not in {c["volunteer_id"] for c in plain.json()["candidates"]}
    assert marked_absent.pk in {c["volunteer_id"] for c in asked.json()["candidates"]}


def test_an_absent_volunteer_is_assigned_again_only_when_a_coordinator_says_so(geo, north_coordinator, marked_absent):
    # given
    api = _api(north_coordinator)
    body = {"volunteer": marked_absent.pk, "place": geo.north_place.pk, "table": geo.north_tables[1].pk}
    # when
    refused = api.post("/api/assignments/assign/", {**body, "role": "table"}, format="json")
    allowed = api.post("/api/assignments/assign/", {**body, "role": "table", "allow_absent": True}, format="json")
    # then
    assert refused.status_code == 400
    assert refused.json()["code"] == AssignmentErrorCode.ABSENT_TODAY
    assert "ausente" in refused.json()["message"]
    assert allowed.status_code == 201
    offered = candidates_for_slot(place=geo.north_place, role="table", table=geo.north_tables[2], include_absent=True)
    assert marked_absent.pk not in {c.volunteer_id for c in offered}  # she is busy now


# --- check-in: election day only, by every door ----------------------------------------------------


@pytest.fixture
def confirmed(geo, north_volunteer):
    assignment = assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )
    return assignment_transition(assignment=assignment, to_status=AssignmentStatus.CONFIRMED, source="sms")


def test_check_in_before_election_day_is_refused_by_every_door(client, signed_post, geo, north_coordinator, confirmed):
    # when: the volunteer's page, the console's board and an SMS, the day before
    volunteer_user = confirmed.volunteer.user
    client.force_login(volunteer_user)
    page = client.post(reverse("portal:check_in"), follow=True)
    client.force_login(north_coordinator)
    board = client.post(reverse("console:check_in", args=[confirmed.pk]), follow=True)
    sms = signed_post("/sms/inbound/", _sms(confirmed.volunteer.phone, "LLEGUE"))
    # then: nothing changed, and each door said why
    confirmed.refresh_from_db()
    assert confirmed.status == AssignmentStatus.CONFIRMED
    assert not confirmed.events.filter(to_status=AssignmentStatus.CHECKED_IN).exists()
    assert "día de la elección" in page.content.decode()
    assert "día de la elección" in board.content.decode()
    assert "dia de la eleccion" in sms.content.decode()


@pytest.mark.parametrize("door", ["page", "board", "sms"])
def test_check_in_on_election_day_writes_the_same_rows_by_every_door(
    door,
    client,
    signed_post,
    geo,
    north_coordinator,
    confirmed,
    election_day,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    # given: live events recorded as they leave the one door, after commit
    sent = []
    monkeypatch.setattr(live, "_send", lambda group, event: sent.append((group, event() if callable(event) else event)))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        if door == "page":
            client.force_login(confirmed.volunteer.user)
            client.post(reverse("portal:check_in"))
        elif door == "board":
            client.force_login(north_coordinator)
            client.post(reverse("console:check_in", args=[confirmed.pk]))
        else:
            signed_post("/sms/inbound/", _sms(confirmed.volunteer.phone, "LLEGUE"))
    # then: the status, one audit row, and one board event
    confirmed.refresh_from_db()
    assert confirmed.status == AssignmentStatus.CHECKED_IN
    event = confirmed.events.get(to_status=AssignmentStatus.CHECKED_IN)
    assert (event.from_status, event.source) == ("confirmed", {"page": "web", "board": "web", "sms": "sms"}[door])
    board = [e for group, e in sent if group == f"board.{geo.election.pk}"]
    assert len(board) == 1
    assert (board[0]["type"], board[0]["assignment_id"], board[0]["table"]) == ("check_in.created", confirmed.pk, 1)


# --- whole-election auto-assign is for leads ---------------------------------------------------------


def test_whole_election_auto_assign_is_refused_to_a_coordinator_by_every_door(client, geo, north_coordinator):
    # given
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    # when: the API, the task's starter and the service itself
    api = _api(north_coordinator).post("/api/assignments/auto/", {"election": geo.election.slug}, format="json")
    with pytest.raises(ApplicationError) as started:
        auto_assign_start(election=geo.election, area=None, dry_run=False, notify=False, actor=north_coordinator)
    with pytest.raises(ApplicationError) as direct:
        auto_assign(election=geo.election, area=None, dry_run=False, actor=north_coordinator)
    # then: the same code, and nothing written
    assert api.status_code == 403
    assert api.json()["code"] == AssignmentErrorCode.WHOLE_ELECTION_LEADS_ONLY
    assert started.value.code == direct.value.code == AssignmentErrorCode.WHOLE_ELECTION_LEADS_ONLY
    assert not Assignment.objects.exists()


def test_whole_election_auto_assign_runs_for_a_lead(geo, lead, django_capture_on_commit_callbacks):
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = auto_assign_start(election=geo.election, area=None, dry_run=False, notify=False, actor=lead)
    assert auto_assign_status(run_id)["state"] == "done"
    assert Assignment.objects.count() == 1


# --- notices deliver themselves --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_auto_assign_with_notify_queues_every_sms_without_any_other_click(geo, lead):
    # given: three volunteers who vote at the north school
    for _i in range(3):
        VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    # when: a lead applies auto-assign with "notify now" (its task runs eagerly here)
    run_id = auto_assign_start(election=geo.election, area=geo.north, dry_run=False, notify=True, actor=lead)
    # then: every proposal's notice was relayed into an outbound SMS after commit
    assert auto_assign_status(run_id)["state"] == "done"
    proposals = Assignment.objects.filter(status__in=[AssignmentStatus.PROPOSED, AssignmentStatus.NOTIFIED])
    assert proposals.count() == 3
    notices = Notice.objects.filter(kind=NoticeKind.ASSIGNMENT)
    assert notices.count() == 3
    assert not notices.filter(processed_at__isnull=True).exists()
    assert OutboundMessage.objects.filter(notice__in=notices).count() == 3


def test_manual_and_bulk_notices_are_built_alike(geo, lead, north_coordinator):
    # given: one assignment by hand and one by auto-assign, both notified
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place)
    auto_assign(election=geo.election, area=geo.north, dry_run=False, actor=lead, notify=True)
    by_hand = assignment_create(
        volunteer=VolunteerFactory(area=geo.south_town),
        place=geo.south_place,
        table=geo.south_tables[0],
        role="table",
        actor=lead,
        source="web",
    )
    # then
    rows = list(Notice.objects.order_by("id").values("kind", "payload", "assignment__volunteer_id", "volunteer_id"))
    assert len(rows) == 2
    assert {r["kind"] for r in rows} == {NoticeKind.ASSIGNMENT}
    assert all(r["payload"] == {} and r["assignment__volunteer_id"] == r["volunteer_id"] for r in rows)
    assert rows[1]["volunteer_id"] == by_hand.volunteer_id
