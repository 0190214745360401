"""Shifts: a table slot held by a morning and an afternoon watcher, the handover on the table's
timeline, coverage that counts a split slot once, the late afternoon watcher, the console and the API."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus, Shift
from backend.assignments.selectors import coverage_by_place, coverage_by_table, coverage_map_by_area
from backend.assignments.services import (
    assignment_confirm,
    assignment_create,
    assignment_decline,
    assignment_set_locked,
    assignment_transition,
    assignment_unassign,
    auto_assign,
)
from backend.console.selectors import late_assignments
from backend.core.exceptions import ApplicationError
from backend.tableday.models import TableDay, TableReport
from backend.tableday.services import shift_hand_over, table_report, watcher_check_in
from backend.volunteers.models import Availability

from ..factories import VolunteerFactory


def _assign(geo, volunteer, shift, table=None, **kwargs):
    return assignment_create(
        volunteer=volunteer,
        place=geo.north_place,
        table=table or geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="web",
        shift=shift,
        **kwargs,
    )


def _told(assignment):
    return assignment_transition(assignment=assignment, to_status=AssignmentStatus.NOTIFIED, source="system")


@pytest.fixture
def pair(geo):
    """Table 1 of Escuela Norte: Ana in the morning, Bruno in the afternoon (both told)."""
    ana = VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Morales")
    bruno = VolunteerFactory(area=geo.north_town, first_name="Bruno", last_name="Tardes")
    morning = _told(_assign(geo, ana, Shift.MORNING))
    afternoon = _told(_assign(geo, bruno, Shift.AFTERNOON))
    return morning, afternoon


# --- the slot: two halves, never overlapping a whole day --------------------------------------------


def test_a_morning_and_an_afternoon_watcher_share_one_table_slot(pair, geo):
    morning, afternoon = pair
    assert (morning.slot, afternoon.slot) == (0, 0)
    assert (morning.shift, afternoon.shift) == ("morning", "afternoon")
    # the engine plans whole days only: a half is pinned so a re-run never moves it
    assert morning.locked and afternoon.locked


def test_a_whole_day_watcher_and_a_half_never_hold_the_same_slot(geo):
    # given: a whole-day watcher on table 1 (one watcher per table)
    _assign(geo, VolunteerFactory(area=geo.north_town), Shift.DAY)
    # when / then: neither half of that slot is free
    for shift in (Shift.MORNING, Shift.AFTERNOON):
        with pytest.raises(ApplicationError) as error:
            _assign(geo, VolunteerFactory(area=geo.north_town), shift)
        assert error.value.code == "no_free_slot"
    # and the database refuses it too, whatever the door
    with pytest.raises(ApplicationError) as error:
        _assign(geo, VolunteerFactory(area=geo.north_town), Shift.MORNING, slot=0)
    assert error.value.code == "slot_taken"


def test_two_watchers_of_the_same_half_are_refused(pair, geo):
    with pytest.raises(ApplicationError) as error:
        _assign(geo, VolunteerFactory(area=geo.north_town), Shift.AFTERNOON)
    assert error.value.code == "no_free_slot"


def test_a_half_day_volunteer_takes_the_half_they_are_free_for_and_not_the_other(geo):
    morning_person = VolunteerFactory(area=geo.north_town, availability=Availability.MORNING)
    # a titular slot needs the whole day...
    with pytest.raises(ApplicationError) as error:
        _assign(geo, morning_person, Shift.DAY)
    assert error.value.code == "not_eligible"
    # ...and the afternoon needs someone free in the afternoon
    with pytest.raises(ApplicationError) as error:
        _assign(geo, morning_person, Shift.AFTERNOON)
    assert "solo está disponible a la mañana" in str(error.value.message)
    # the morning of the titular slot is theirs
    assert _assign(geo, morning_person, Shift.MORNING).slot == 0


def test_a_fiscal_general_is_never_in_shifts(geo, north_volunteer):
    with pytest.raises(ApplicationError) as error:
        assignment_create(
            volunteer=north_volunteer, place=geo.north_place, role=AssignmentRole.PLACE, source="web", shift="morning"
        )
    assert error.value.code == "shift_invalid"
    assert not Assignment.objects.exists()


def test_a_half_stays_pinned_but_a_coordinator_can_still_remove_it(pair):
    morning, _afternoon = pair
    with pytest.raises(ApplicationError) as error:
        assignment_set_locked(assignment=morning, locked=False, source="web")
    assert error.value.code == "shift_stays_locked"
    assert assignment_unassign(assignment=morning, source="web").status == "cancelled"


def test_a_declined_half_is_replaced_by_someone_for_that_half(pair, geo):
    # given: the only free person is available in the afternoon only
    free = VolunteerFactory(area=geo.north_town, availability=Availability.AFTERNOON, first_name="Carla")
    _morning, afternoon = pair
    # when
    declined = assignment_decline(assignment=afternoon, source="sms")
    # then: she takes the afternoon of the same slot
    replacement = declined.replacement
    assert replacement is not None
    assert (replacement.volunteer, replacement.shift, replacement.slot) == (free, "afternoon", 0)


def test_auto_assign_never_moves_a_half_nor_fills_a_split_slot(pair, geo):
    # given: free whole-day volunteers near the school
    for _ in range(4):
        VolunteerFactory(area=geo.north_town)
    # when
    auto_assign(election=geo.election, area=geo.north, dry_run=False)
    # then: both halves stay where they were, and table 1 got nobody else
    morning, afternoon = pair
    for half in pair:
        half.refresh_from_db()
        assert (half.table_id, half.slot, half.status) == (geo.north_tables[0].pk, 0, "notified")
    active = Assignment.objects.filter(table=geo.north_tables[0], status__in=["proposed", "notified"])
    assert set(active.values_list("pk", flat=True)) == {morning.pk, afternoon.pk}
    assert Assignment.objects.filter(table__in=geo.north_tables[1:], status="proposed").count() == 2


# --- coverage: a split slot counts once, when both halves are held ---------------------------------


def test_a_table_is_covered_when_both_halves_are_held_not_by_one_alone(geo, north_coordinator):
    # given: table 1 only a morning watcher, table 2 both halves, table 3 a whole-day watcher
    _assign(geo, VolunteerFactory(area=geo.north_town), Shift.MORNING, table=geo.north_tables[0])
    _assign(geo, VolunteerFactory(area=geo.north_town), Shift.MORNING, table=geo.north_tables[1])
    _assign(geo, VolunteerFactory(area=geo.north_town), Shift.AFTERNOON, table=geo.north_tables[1])
    _assign(geo, VolunteerFactory(area=geo.north_town), Shift.DAY, table=geo.north_tables[2])
    # when
    detail = coverage_by_table(user=north_coordinator, place=geo.north_place)
    (place_row,) = coverage_by_place(user=north_coordinator, election=geo.election, area=geo.north)
    area = coverage_map_by_area(user=north_coordinator, election=geo.election, areas=[geo.north])[geo.north.pk]
    # then: two of three tables covered (the general's slot is empty)
    assert [t["assigned"] for t in detail["tables"]] == [0, 1, 1]
    assert [[s["shift"] for s in t["slots"]] for t in detail["tables"]] == [
        ["morning", "afternoon"],
        ["morning", "afternoon"],
        ["day"],
    ]
    assert detail["tables"][0]["slots"][1]["assignment"] is None
    assert (place_row["slots"], place_row["assigned"]) == (4, 2)
    assert (area.slots, area.assigned) == (4, 2)


def test_after_the_handover_the_table_stays_covered_and_watched(pair, election_day, north_coordinator, geo):
    morning, afternoon = pair
    watcher_check_in(assignment=morning, source="web")
    watcher_check_in(assignment=afternoon, source="web")
    shift_hand_over(assignment=morning, source="web")
    (place_row,) = coverage_by_place(user=north_coordinator, election=geo.election, area=geo.north)
    assert (place_row["assigned"], place_row["confirmed"], place_row["checked_in"]) == (1, 1, 1)
    detail = coverage_by_table(user=north_coordinator, place=geo.north_place)
    assert [s["assignment"]["status"] for s in detail["tables"][0]["slots"]] == ["done", "checked_in"]


# --- the handover on the table's timeline ------------------------------------------------------------


def test_the_afternoon_arrival_and_the_handover_go_on_the_timeline_and_never_move_the_table(pair, election_day, geo):
    morning, afternoon = pair
    table = geo.north_tables[0]
    watcher_check_in(assignment=morning, source="sms")
    table_report(table=table, state="open", channel="sms")
    # when
    watcher_check_in(assignment=afternoon, source="sms")
    result = shift_hand_over(assignment=morning, source="sms")
    # then
    assert result.changed and result.assignment.status == "done" and result.incoming == afternoon
    rows = list(TableReport.objects.filter(table=table).values_list("state", "note"))
    assert rows == [
        ("shift_arrived", "Llegó Ana Morales (turno mañana)."),
        ("open", ""),
        ("shift_arrived", "Llegó Bruno Tardes (turno tarde)."),
        ("handed_over", "Ana Morales entregó la mesa a Bruno Tardes."),
    ]
    assert TableDay.objects.get(table=table).state == "open"
    # the audit trail says to whom
    assert morning.events.last().reason == "entregó la mesa a Bruno Tardes"


def test_a_repeated_handover_or_arrival_records_nothing_new(pair, election_day, geo):
    morning, afternoon = pair
    watcher_check_in(assignment=morning, source="web")
    watcher_check_in(assignment=afternoon, source="web")
    shift_hand_over(assignment=morning, source="web")
    count = TableReport.objects.count()
    # when
    again = shift_hand_over(assignment=morning, source="sms")
    watcher_check_in(assignment=Assignment.objects.get(pk=afternoon.pk), source="sms")
    # then
    assert not again.changed
    assert TableReport.objects.count() == count


def test_no_handover_before_the_afternoon_watcher_arrives(pair, election_day):
    morning, _afternoon = pair
    watcher_check_in(assignment=morning, source="web")
    with pytest.raises(ApplicationError) as error:
        shift_hand_over(assignment=morning, source="web")
    assert error.value.code == "handover_nobody_arrived"
    assert "Bruno Tardes todavía no avisó que llegó" in str(error.value.message)
    assert not TableReport.objects.filter(state="handed_over").exists()
    morning.refresh_from_db()
    assert morning.status == "checked_in"


def test_only_a_present_morning_watcher_hands_over(pair, election_day):
    morning, afternoon = pair
    with pytest.raises(ApplicationError) as error:
        shift_hand_over(assignment=afternoon, source="web")
    assert error.value.code == "not_a_shift"
    with pytest.raises(ApplicationError) as error:
        shift_hand_over(assignment=morning, source="web")
    assert error.value.code == "handover_not_present"


def test_shift_entries_are_not_a_state_anyone_can_report(geo):
    with pytest.raises(ApplicationError) as error:
        table_report(table=geo.north_tables[0], state="handed_over", channel="api")
    assert error.value.code == "unknown_table_state"


# --- the afternoon watcher is late from the handover, not from the morning --------------------------


def test_an_afternoon_watcher_is_late_only_after_the_handover_plus_grace(pair, election_day, north_coordinator, geo):
    morning, afternoon = pair
    day = geo.election.date
    tz = timezone.get_default_timezone()
    at_ten = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10, 0)), tz)
    at_half_past_one = timezone.make_aware(datetime.datetime.combine(day, datetime.time(13, 31)), tz)
    # told long before
    Assignment.objects.filter(pk__in=[morning.pk, afternoon.pk]).update(
        status_changed_at=at_ten - datetime.timedelta(days=3)
    )
    assert list(late_assignments(user=north_coordinator, election=geo.election, now=at_ten)) == [morning]
    late = set(late_assignments(user=north_coordinator, election=geo.election, now=at_half_past_one))
    assert late == {morning, afternoon}


# --- console and API ---------------------------------------------------------------------------------


def test_the_place_board_shows_both_halves_and_assigns_a_shift(client, geo, north_coordinator):
    # given: a morning watcher on table 1
    _assign(geo, VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Morales"), Shift.MORNING)
    carla = VolunteerFactory(area=geo.north_town, first_name="Carla", last_name="Sosa")
    client.force_login(north_coordinator)
    # when
    page = client.get(reverse("console:place", args=[geo.north_place.pk])).content.decode()
    # then: the table's two halves, the free one offered for its shift
    assert page.count('data-testid="slot-shift"') == 2
    assert "Turno mañana" in page and "Turno tarde" in page
    assert "turno=afternoon&amp;fijo=1" in page or "turno=afternoon&fijo=1" in page
    panel = client.get(
        reverse("console:candidates", args=[geo.north_place.pk]),
        {"rol": "table", "mesa": geo.north_tables[0].pk, "puesto": 0, "turno": "afternoon", "fijo": "1"},
    ).content.decode()
    assert "Carla Sosa" in panel and 'name="shift" value="afternoon"' in panel
    # when: assign her to the afternoon
    client.post(
        reverse("console:assign"),
        {
            "place": geo.north_place.pk,
            "role": "table",
            "table": geo.north_tables[0].pk,
            "volunteer": carla.pk,
            "slot": "0",
            "shift": "afternoon",
        },
    )
    row = Assignment.objects.get(volunteer=carla)
    assert (row.table, row.slot, row.shift) == (geo.north_tables[0], 0, "afternoon")


def test_a_whole_slot_offers_a_shift_choice(client, geo, north_coordinator):
    client.force_login(north_coordinator)
    panel = client.get(
        reverse("console:candidates", args=[geo.north_place.pk]),
        {"rol": "table", "mesa": geo.north_tables[0].pk, "puesto": 0},
    ).content.decode()
    assert 'data-testid="shift-select"' in panel
    assert "Turno mañana" in panel and "Todo el día" in panel


def test_the_day_board_table_page_shows_both_watchers_and_the_handover(
    pair, election_day, client, north_coordinator, geo
):
    morning, afternoon = pair
    watcher_check_in(assignment=morning, source="sms")
    watcher_check_in(assignment=afternoon, source="sms")
    shift_hand_over(assignment=morning, source="sms")
    client.force_login(north_coordinator)
    page = client.get(reverse("console:day_table", args=[geo.north_tables[0].pk])).content.decode()
    assert "Ana Morales entregó la mesa a Bruno Tardes." in page
    assert "Cambio de turno a las 13:00." in page
    assert "Turno tarde" in page


def test_the_api_assigns_a_shift_and_hands_over(client, geo, north_coordinator, election_day):
    # given
    ana = VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Morales")
    bruno = VolunteerFactory(area=geo.north_town, first_name="Bruno", last_name="Tardes")
    client.force_login(north_coordinator)
    url = reverse("api-assignment-assign")
    base = {"place": geo.north_place.pk, "table": geo.north_tables[0].pk, "role": "table"}
    # when
    first = client.post(url, {**base, "volunteer": ana.pk, "shift": "morning"}, content_type="application/json")
    second = client.post(url, {**base, "volunteer": bruno.pk, "shift": "afternoon"}, content_type="application/json")
    # then
    assert first.status_code == second.status_code == 201
    assert (first.json()["shift"], second.json()["shift_label"]) == ("morning", "Turno tarde")
    morning, afternoon = (Assignment.objects.get(pk=r.json()["id"]) for r in (first, second))
    assignment_confirm(assignment=morning, source="api")
    for a in (morning, afternoon):
        assert client.post(reverse("api-assignment-check-in", args=[a.pk])).status_code == 200
    handed = client.post(reverse("api-assignment-hand-over", args=[morning.pk]))
    assert handed.status_code == 200 and handed.json()["status"] == "done"
    again = client.post(reverse("api-assignment-hand-over", args=[afternoon.pk]))
    assert again.status_code == 400 and again.json()["code"] == "not_a_shift"


def test_the_schema_documents_shifts(client, lead):
    client.force_login(lead)
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/assignments/{id}/hand-over/" in schema["paths"]
    assign = schema["components"]["schemas"]
    assert any("shift" in (s.get("properties") or {}) for s in assign.values())


# --- the watchers' pages ------------------------------------------------------------------------------


def _signed_in(volunteer):
    from django.core.cache import cache
    from django.test import Client

    from backend.accounts.services import magic_link_issue

    cache.clear()  # magic links are rate-limited per volunteer id, and ids repeat between tests
    client = Client()
    link = magic_link_issue(volunteer=volunteer)
    client.get("/" + link.split("://", 1)[1].split("/", 1)[1], follow=True)
    return client


def test_the_morning_watcher_hands_over_from_their_page_and_the_general_sees_it(pair, election_day, geo):
    from ..factories import UserFactory

    morning, afternoon = pair
    for a, name in ((morning, "ana"), (afternoon, "bruno")):
        a.volunteer.user = UserFactory(username=name, role="volunteer")
        a.volunteer.save(update_fields=["user"])
    general = VolunteerFactory(area=geo.north_town, user=UserFactory(username="general", role="volunteer"))
    assignment_create(volunteer=general, place=geo.north_place, role=AssignmentRole.PLACE, source="web", notify=False)
    ana, bruno = _signed_in(morning.volunteer), _signed_in(afternoon.volunteer)
    # the afternoon watcher's page says when and from whom
    page = bruno.get("/mi/").content.decode()
    assert "Turno tarde" in page and "A las 13:00 recibís la mesa de Ana Morales" in page
    # the morning watcher: arrives, sees who replaces her; no handover button until he arrives
    ana.post("/mi/llegue/")
    page = ana.get("/mi/").content.decode()
    assert "A las 13:00 te reemplaza Bruno Tardes" in page and 'data-testid="hand-over"' in page
    refused = ana.post("/mi/entregue/", follow=True).content.decode()
    assert "todavía no avisó que llegó" in refused
    # when: he arrives and she hands over from her page
    bruno.post("/mi/llegue/")
    ana.post("/mi/entregue/")
    # then
    assert Assignment.objects.get(pk=morning.pk).status == "done"
    assert "Entregaste la mesa 1 de Escuela Norte. ¡Gracias por tu turno!" in ana.get("/mi/").content.decode()
    school = _signed_in(general).get("/mi/").content.decode()
    assert school.count('data-testid="school-shift-entry"') == 3
    assert "Ana Morales entregó la mesa a Bruno Tardes." in school
    assert "turno tarde" in school


def test_the_day_board_counts_the_watchers_present(pair, election_day, client, north_coordinator, geo):
    # given: the morning watcher at table 1 of Norte, and a whole-day one at table 2 of Sur
    morning, _afternoon = pair
    watcher_check_in(assignment=morning, source="sms")
    south = assignment_create(
        volunteer=VolunteerFactory(area=geo.south_town),
        place=geo.south_place,
        table=geo.south_tables[0],
        role=AssignmentRole.TABLE,
        source="web",
    )
    Assignment.objects.filter(pk=south.pk).update(status="checked_in")
    client.force_login(north_coordinator)
    # when
    page = client.get("/consola/dia/mesas/", {"area": geo.north.pk}).content.decode()
    # then: only the coordinator's area counts
    assert 'data-testid="present-total">1<' in page
