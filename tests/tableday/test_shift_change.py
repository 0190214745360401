"""A coordinator changes a table watcher's shift (whole day, morning, afternoon) through one service,
from the console and the API: audited, refused with a clear message when it would clash with the
other watcher's half of the slot, and the volunteer told by SMS through the notices door. And the
watchers' help (SMS and the magic-link page) names LLEGUE and ENTREGO."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.assignments.models import Assignment, AssignmentEvent, AssignmentRole, AssignmentStatus, Shift
from backend.assignments.services import assignment_create, assignment_set_shift, assignment_transition
from backend.core.exceptions import ApplicationError
from backend.messaging.models import OutboundMessage, TemplateKind
from backend.notices.models import Notice
from sms.tasks import relay_notices

from ..factories import UserFactory, VolunteerFactory


def _assign(geo, volunteer, shift=Shift.DAY, *, told=True):
    a = assignment_create(
        volunteer=volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="web",
        shift=shift,
        notify=False,
    )
    if told:
        a = assignment_transition(assignment=a, to_status=AssignmentStatus.NOTIFIED, source="system")
    return a


@pytest.fixture
def ana(geo):
    return VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Morales", phone="+5493510000001")


@pytest.fixture
def bruno(geo):
    return VolunteerFactory(area=geo.north_town, first_name="Bruno", last_name="Tardes", phone="+5493510000002")


def test_a_whole_day_watcher_moved_to_the_afternoon_is_pinned_audited_and_told_by_sms(
    geo, ana, north_coordinator, settings
):
    # given
    settings.SMS_BACKEND = "local"
    whole_day = _assign(geo, ana)
    # when
    changed = assignment_set_shift(assignment=whole_day, shift=Shift.AFTERNOON, actor=north_coordinator, source="web")
    relay_notices()
    # then: the slot's afternoon, pinned, one audit row saying from what to what
    assert (changed.shift, changed.locked, changed.status) == ("afternoon", True, "notified")
    event = AssignmentEvent.objects.get(assignment=whole_day, kind=AssignmentEvent.Kind.SHIFT)
    assert (event.actor, event.reason) == (north_coordinator, "de todo el día a turno tarde")
    # and Ana is told, in one segment, when her new shift starts
    text = OutboundMessage.objects.get(volunteer=ana)
    assert text.kind == TemplateKind.SHIFT_CHANGED and text.segments == 1
    assert "Ana, tu turno cambio: turno tarde, mesa 1 de Escuela Norte" in text.body and "13:00" in text.body


def test_a_change_onto_the_other_watchers_half_is_refused_with_who_holds_it_and_changes_nothing(
    geo, ana, bruno, north_coordinator
):
    # given: Ana in the morning, Bruno in the afternoon of table 1
    morning, afternoon = _assign(geo, ana, Shift.MORNING), _assign(geo, bruno, Shift.AFTERNOON)
    for wanted, name in ((Shift.DAY, "todo el día"), (Shift.AFTERNOON, "turno tarde")):
        # when
        with pytest.raises(ApplicationError) as refused:
            assignment_set_shift(assignment=morning, shift=wanted, actor=north_coordinator, source="web")
        # then
        assert refused.value.code == "shift_clash"
        assert str(refused.value.message).startswith(
            f"No se puede pasar a Ana Morales a {name}: Bruno Tardes tiene turno tarde de la mesa 1."
        )
    assert Assignment.objects.get(pk=morning.pk).shift == "morning"
    assert not AssignmentEvent.objects.filter(kind=AssignmentEvent.Kind.SHIFT).exists()
    assert not Notice.objects.exists()
    # a half that is free is fine: Bruno takes the whole day once Ana is off the table
    assignment_transition(assignment=morning, to_status=AssignmentStatus.CANCELLED, source="web")
    assert assignment_set_shift(assignment=afternoon, shift=Shift.DAY, source="web").shift == "day"


def test_a_proposal_nobody_has_told_changes_shift_without_a_text(geo, ana):
    proposal = _assign(geo, ana, told=False)
    assignment_set_shift(assignment=proposal, shift=Shift.MORNING, source="web")
    assert not Notice.objects.exists()


def test_a_general_and_an_unknown_shift_are_refused(geo, ana):
    general = assignment_create(
        volunteer=ana, place=geo.north_place, role=AssignmentRole.PLACE, source="web", notify=False
    )
    for shift in (Shift.MORNING, "noche"):
        with pytest.raises(ApplicationError) as refused:
            assignment_set_shift(assignment=general, shift=shift, source="web")
        assert refused.value.code == "shift_invalid"


def test_the_console_changes_a_shift_from_the_place_page_and_shows_a_clash(client, geo, ana, bruno, north_coordinator):
    # given
    morning = _assign(geo, ana, Shift.MORNING)
    client.force_login(north_coordinator)
    page = client.get(reverse("console:place", args=[geo.north_place.pk])).content.decode()
    assert 'data-testid="shift-change"' in page and reverse("console:shift", args=[morning.pk]) in page
    # when: Ana to the afternoon
    done = client.post(reverse("console:shift", args=[morning.pk]), {"shift": "afternoon"}, follow=True)
    # then
    assert "Ana Morales: Turno tarde." in done.content.decode()
    assert Assignment.objects.get(pk=morning.pk).shift == "afternoon"
    # and with Bruno in the morning, Ana's whole day is refused with the reason on the page
    _assign(geo, bruno, Shift.MORNING)
    clash = client.post(reverse("console:shift", args=[morning.pk]), {"shift": "day"}, follow=True).content.decode()
    assert "Bruno Tardes tiene turno mañana de la mesa 1" in clash
    assert Assignment.objects.get(pk=morning.pk).shift == "afternoon"


def test_the_api_changes_a_shift_in_scope_only_and_names_a_clash_by_its_code(
    geo, ana, bruno, north_coordinator, south_coordinator
):
    # given
    morning, _afternoon = _assign(geo, ana, Shift.MORNING), _assign(geo, bruno, Shift.AFTERNOON)
    api = APIClient()
    url = reverse("api-assignment-shift", args=[morning.pk])
    # when
    api.force_authenticate(south_coordinator)
    outside = api.post(url, {"shift": "afternoon"}, format="json")
    api.force_authenticate(north_coordinator)
    unknown = api.post(url, {"shift": "noche"}, format="json")
    clash = api.post(url, {"shift": "day"}, format="json")
    Assignment.objects.filter(pk=_afternoon.pk).update(status=AssignmentStatus.DECLINED)
    moved = api.post(url, {"shift": "day", "reason": "Bruno no puede"}, format="json")
    # then
    assert (outside.status_code, unknown.status_code) == (403, 400)
    assert clash.status_code == 400 and clash.json()["code"] == "shift_clash"
    assert moved.status_code == 200 and (moved.json()["shift"], moved.json()["shift_label"]) == ("day", "Todo el día")
    assert AssignmentEvent.objects.get(assignment=morning, kind="shift").reason == "Bruno no puede"


def test_the_shift_endpoint_is_in_the_schema(lead):
    api = APIClient()
    api.force_authenticate(lead)
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert paths["/api/assignments/{id}/shift/"]["post"]["operationId"] == "assignments_shift"


def test_the_magic_link_page_help_names_llegue_and_entrego(geo, ana):
    from django.core.cache import cache
    from django.test import Client

    from backend.accounts.services import magic_link_issue

    cache.clear()  # magic links are rate-limited per volunteer id, and ids repeat between tests
    ana.user = UserFactory(username="ana", role="volunteer")
    ana.save(update_fields=["user"])
    _assign(geo, ana, Shift.MORNING)
    client = Client()
    client.get("/" + magic_link_issue(volunteer=ana).split("://", 1)[1].split("/", 1)[1], follow=True)
    page = client.get("/mi/").content.decode()
    assert "LLEGUE (al llegar)" in page and "ENTREGO (turno mañana: al entregar la mesa al turno tarde)" in page
