"""Manual operations: assign, unassign, swap, lock/unlock, decline with an immediate replacement."""

import pytest

from backend.assignments.models import Assignment, AssignmentEvent
from backend.assignments.services import (
    assignment_create,
    assignment_decline,
    assignment_set_locked,
    assignment_swap,
    assignment_transition,
    assignment_unassign,
)
from backend.core.exceptions import ApplicationError
from backend.notices.models import Notice
from backend.volunteers.models import Availability, RolesAccepted

from ..factories import AreaFactory, VolunteerFactory


def _assign(volunteer, place, table=None, **kw):
    role = "table" if table else "place"
    return assignment_create(volunteer=volunteer, place=place, table=table, role=role, source="web", **kw)


@pytest.mark.parametrize(
    ("attrs", "fragment"),
    [
        ({"excluded": True}, "excluido"),
        ({"opted_out": True}, "baja"),
        ({"availability": Availability.UNAVAILABLE}, "no está disponible"),
        ({"availability": Availability.MORNING}, "medio día"),
        ({"roles_accepted": RolesAccepted.PLACE}, "no acepta el rol de fiscal de mesa"),
    ],
)
def test_assign_validates_the_same_rules_as_the_engine(geo, attrs, fragment):
    v = VolunteerFactory(area=geo.north_town, **attrs)
    with pytest.raises(ApplicationError) as err:
        _assign(v, geo.north_place, geo.north_tables[0])
    assert err.value.code == "not_eligible"
    assert fragment in str(err.value.message)
    assert not Assignment.objects.exists()


def test_assign_refuses_another_district_and_untrained_when_required(geo):
    other = AreaFactory(election=geo.election, code="sf", name="Santa Fe")
    with pytest.raises(ApplicationError, match="otro distrito"):
        _assign(VolunteerFactory(area=other), geo.north_place, geo.north_tables[0])
    geo.election.requires_training = True
    geo.election.save()
    with pytest.raises(ApplicationError, match="capacitado"):
        _assign(VolunteerFactory(area=geo.north_town, trained=False), geo.north_place, geo.north_tables[0])


def test_unassign_cancels_frees_the_slot_and_leaves_an_event(geo, north_volunteer):
    a = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    done = assignment_unassign(assignment=a, source="web", reason="no contesta")
    assert done.status == "cancelled"
    event = done.events.get(kind="status")
    assert (event.from_status, event.to_status, event.reason) == ("proposed", "cancelled", "no contesta")
    _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])  # the slot is free again


def test_unassign_refuses_a_locked_assignment(geo, north_volunteer):
    a = _assign(north_volunteer, geo.north_place, geo.north_tables[0], locked=True)
    with pytest.raises(ApplicationError) as err:
        assignment_unassign(assignment=a, source="web")
    assert err.value.code == "locked"
    a.refresh_from_db()
    assert a.status == "proposed"


def test_lock_and_unlock_leave_events(geo, north_volunteer):
    a = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    assignment_set_locked(assignment=a, locked=True, source="web")
    assignment_set_locked(assignment=a, locked=False, source="web")
    assert list(a.events.values_list("kind", flat=True)) == ["created", "locked", "unlocked"]


def test_swap_exchanges_slots_with_events_and_change_notices(geo):
    # given: a table watcher in the north (notified) and a general in the south
    north = VolunteerFactory(area=geo.north_town)
    south = VolunteerFactory(area=geo.south_town)
    a = _assign(north, geo.north_place, geo.north_tables[0], notify=False)
    b = _assign(south, geo.south_place, notify=False)
    assignment_transition(assignment=a, to_status="notified", source="sms")
    # when
    first, second = assignment_swap(first=a, second=b, source="web")
    # then
    assert (first.place, first.table, first.role) == (geo.south_place, None, "place")
    assert (second.place, second.table, second.role) == (geo.north_place, geo.north_tables[0], "table")
    assert first.events.get(kind="moved").reason == f"intercambio con {south.full_name}"
    assert (first.reason, second.reason) == ("mismo distrito", "mismo distrito")
    assert list(Notice.objects.values_list("volunteer_id", "kind")) == [(north.pk, "change")]


def test_swap_refuses_when_one_may_not_take_the_other_slot(geo):
    general_only = VolunteerFactory(area=geo.north_town, roles_accepted=RolesAccepted.PLACE)
    a = _assign(general_only, geo.north_place)
    b = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0])
    with pytest.raises(ApplicationError) as err:
        assignment_swap(first=a, second=b, source="web")
    assert err.value.code == "not_eligible"
    a.refresh_from_db()
    assert a.role == "place"
    assert not AssignmentEvent.objects.filter(kind="moved").exists()


def test_swap_refuses_locked_and_the_same_assignment(geo):
    a = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[0], locked=True)
    b = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[1])
    with pytest.raises(ApplicationError, match="fijada"):
        assignment_swap(first=a, second=b, source="web")
    with pytest.raises(ApplicationError) as err:
        assignment_swap(first=b, second=b, source="web")
    assert err.value.code == "same_assignment"


def test_decline_proposes_the_best_free_replacement_without_moving_anyone(geo):
    # given: a declining watcher, a bystander already assigned, and two free people
    leaving = VolunteerFactory(area=geo.north_town)
    declined_slot = _assign(leaving, geo.north_place, geo.north_tables[1])
    bystander = _assign(
        VolunteerFactory(area=geo.north_town, votes_at=geo.north_place), geo.north_place, geo.north_tables[0]
    )
    VolunteerFactory(area=geo.north_town)  # same locality: 2 km
    voter = VolunteerFactory(area=geo.south_town, votes_at=geo.north_place)  # votes there: 0 km
    # when
    result = assignment_decline(assignment=declined_slot, source="sms")
    # then: the declined row comes back, the replacement is the voter, on the same slot
    assert result.status == "declined"
    replacement = result.replacement
    assert (replacement.volunteer, replacement.table, replacement.slot) == (voter, geo.north_tables[1], 0)
    assert replacement.replaces == result
    assert replacement.reason == f"reemplazo de {leaving.full_name}: vota en este establecimiento"
    assert list(result.replacements.all()) == [replacement]
    assert result.events.filter(reason__startswith="reemplazo propuesto").exists()
    bystander.refresh_from_db()
    assert (bystander.table, bystander.status) == (geo.north_tables[0], "proposed")


def test_decline_without_anyone_available_records_it(geo, north_volunteer):
    a = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    result = assignment_decline(assignment=a, source="web")
    assert result.replacement is None
    assert result.events.filter(reason="sin reemplazo disponible").exists()
    assert Assignment.objects.count() == 1


def test_a_declined_volunteer_is_not_proposed_again_automatically(geo):
    a = _assign(VolunteerFactory(area=geo.north_town, votes_at=geo.north_place), geo.north_place, geo.north_tables[0])
    other = _assign(VolunteerFactory(area=geo.north_town), geo.north_place, geo.north_tables[1])
    assignment_decline(assignment=a, source="sms")
    replacement = assignment_decline(assignment=other, source="sms").replacement
    assert replacement is None


def test_a_decline_is_told_to_the_place_coordinators_in_its_thread(geo, north_coordinator, south_coordinator):
    # given: a watcher at the north school and someone who votes there, free to replace them
    from backend.permissions import visible
    from backend.threads.models import Message

    leaving = VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Paz")
    slot = _assign(leaving, geo.north_place, geo.north_tables[1])
    VolunteerFactory(area=geo.north_town, votes_at=geo.north_place, first_name="Luis", last_name="Sosa")
    # when: she answers NO by SMS
    assignment_decline(assignment=slot, source="sms")
    # then: the place's thread has one line from the system naming her, the table and the replacement
    notice = Message.objects.get(thread__place=geo.north_place)
    assert (notice.author_user, notice.author_volunteer) == (None, None)
    assert notice.body == "Ana Paz no puede ir (la mesa 2, respondió NO por SMS). Reemplazo propuesto: Luis Sosa."
    # and the place's coordinator sees that thread, the other department's does not
    assert visible(north_coordinator, Message.objects.all()).filter(pk=notice.pk).exists()
    assert not visible(south_coordinator, Message.objects.all()).filter(pk=notice.pk).exists()


def test_a_decline_without_replacement_asks_the_coordinators_to_assign(geo, north_volunteer):
    from backend.threads.models import Message

    slot = _assign(north_volunteer, geo.north_place, geo.north_tables[0])
    assignment_decline(assignment=slot, source="web")
    body = Message.objects.get(thread__place=geo.north_place).body
    assert body.endswith("avisó desde su página). No hay reemplazo disponible: asigná a alguien desde la consola.")
