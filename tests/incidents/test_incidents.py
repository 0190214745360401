"""Incidents: categories guessed from words, owner and status audited, the watcher told, escalation."""

import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import Role
from backend.core.exceptions import ApplicationError
from backend.incidents.categories import DEFAULTS, categories_for, category_guess
from backend.incidents.models import Incident, IncidentCategory, IncidentEvent
from backend.incidents.services import (
    incident_category_set,
    incident_coordinators,
    incident_note_add,
    incident_report,
    incident_resolve,
    incident_take,
    incidents_escalate_due,
)
from backend.incidents.tasks import incidents_escalate_due_task
from backend.notices.models import Notice
from tests.factories import CoordinatorScopeFactory, UserFactory


def _report(geo, watcher, text="faltan boletas de la lista 3", **kwargs):
    return incident_report(
        place=geo.north_place, table=geo.north_tables[0], text=text, actor=watcher.user, channel="sms", **kwargs
    )


def test_each_election_starts_with_the_argentine_default_categories(geo):
    codes = [c.code for c in categories_for(geo.election)]
    assert codes == [code for code, *_rest in DEFAULTS]
    assert len(codes) == 8
    # a second call creates nothing more
    categories_for(geo.election)
    assert IncidentCategory.objects.filter(election=geo.election).count() == 8


@pytest.mark.parametrize(
    ("text", "code", "confident"),
    [
        ("faltan boletas de la lista 3", "ballot_shortage", True),
        ("Se robaron las boletas del cuarto", "ballot_shortage", True),
        ("no me dejan entrar, dicen que falta el poder", "denied_entry", True),  # three clues beat one "falta"
        ("hay afiches de propaganda en el patio", "campaigning", True),
        ("amenazaron a un fiscal", "violence", True),
        ("amenazaron al presidente de mesa", "late_opening", False),  # a tie: ask which one
        ("una señora se desmayó", "other", False),
        ("son las 9 y la mesa no abrió, falta la autoridad", "late_opening", True),
    ],
)
def test_the_category_is_guessed_from_the_words_and_weak_guesses_say_so(geo, text, code, confident):
    guess = category_guess(text, categories_for(geo.election))
    assert (guess.category.code, guess.confident) == (code, confident)


def test_a_report_takes_the_category_severity_and_is_audited(geo, watcher):
    # when
    incident = _report(geo, watcher)
    # then
    assert (incident.category.code, incident.severity, incident.status) == ("ballot_shortage", "high", "open")
    assert incident.category_confirmed
    event = incident.events.get()
    assert (event.kind, event.actor, event.channel) == ("created", watcher.user, "sms")


def test_an_empty_report_is_refused_with_a_clear_error(geo, watcher):
    with pytest.raises(ApplicationError) as error:
        _report(geo, watcher, text="   ")
    assert "Contá qué pasó" in str(error.value.message)
    assert not Incident.objects.exists()


def test_a_table_of_another_place_is_refused(geo, watcher):
    with pytest.raises(ApplicationError) as error:
        incident_report(place=geo.north_place, table=geo.south_tables[0], text="x", actor=watcher.user, channel="web")
    assert error.value.code == "incident_table_not_at_place"
    assert not Incident.objects.exists()


def test_taking_and_resolving_tell_the_watcher_and_are_audited(geo, watcher, north_coordinator):
    # given
    north_coordinator.first_name, north_coordinator.last_name = "Ana", "López"
    north_coordinator.save()
    incident = _report(geo, watcher)
    # when
    taken = incident_take(incident=incident, actor=north_coordinator, channel="web")
    again = incident_take(incident=incident, actor=north_coordinator, channel="web")
    incident_note_add(incident=incident, actor=north_coordinator, channel="web", text="mandamos boletas")
    resolved = incident_resolve(incident=incident, actor=north_coordinator, channel="web", note="llegaron")
    # then
    assert (taken.status, taken.owner, again.status) == ("in_progress", north_coordinator, "in_progress")
    assert resolved.status == "resolved" and resolved.resolved_at is not None
    kinds = list(incident.events.values_list("kind", "from_value", "to_value"))
    assert kinds == [
        ("created", "", "ballot_shortage"),
        ("taken", "open", "in_progress"),
        ("note", "", ""),
        ("status", "in_progress", "resolved"),
    ]
    told = [n.payload["text"] for n in Notice.objects.filter(volunteer=watcher).order_by("id")]
    assert told == [
        f"Ana López tomó tu problema #{incident.pk} (mesa 1). Te avisamos al resolverlo.",
        f"Tu problema #{incident.pk} (mesa 1) está resuelto. Gracias.",
    ]


def test_a_resolved_incident_cannot_be_taken(geo, watcher, north_coordinator):
    incident = _report(geo, watcher)
    incident_resolve(incident=incident, actor=north_coordinator, channel="web")
    with pytest.raises(ApplicationError) as error:
        incident_take(incident=incident, actor=north_coordinator, channel="web")
    assert error.value.code == "incident_resolved"


def test_confirming_the_category_is_audited(geo, watcher):
    incident = _report(geo, watcher, text="una señora se desmayó")
    assert not incident.category_confirmed
    violence = IncidentCategory.objects.get(election=geo.election, code="violence")
    incident_category_set(incident=incident, category=violence, actor=watcher.user, channel="sms")
    incident.refresh_from_db()
    assert (incident.category, incident.category_confirmed) == (violence, True)
    assert incident.events.filter(kind="category", from_value="other", to_value="violence").exists()


def test_unattended_severe_incidents_go_up_the_area_tree_once_per_period(geo, watcher, settings):
    # given: a severe one and a mild one, both older than the period; the place is three levels deep
    settings.INCIDENT_ESCALATION_MINUTES = 10
    severe = _report(geo, watcher)
    mild = _report(geo, watcher, text="hay afiches de propaganda")
    Incident.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=11))
    # when
    first = incidents_escalate_due_task()
    second = incidents_escalate_due_task()
    # then: only the severe one went one area up, and only once
    assert (first, second) == (1, 0)
    severe.refresh_from_db()
    mild.refresh_from_db()
    assert (severe.escalation_level, mild.escalation_level) == (1, 0)
    event = severe.events.get(kind=IncidentEvent.Kind.ESCALATED)
    assert event.text == "Norte"  # the parent of the place's locality
    # and a period later it goes up again, until the top of the tree
    later = timezone.now() + datetime.timedelta(minutes=11)
    assert incidents_escalate_due(now=later) == 1
    assert incidents_escalate_due(now=later + datetime.timedelta(minutes=11)) == 0
    severe.refresh_from_db()
    assert severe.escalation_level == 2


def test_a_taken_incident_does_not_escalate(geo, watcher, north_coordinator, settings):
    settings.INCIDENT_ESCALATION_MINUTES = 10
    incident = _report(geo, watcher)
    incident_take(incident=incident, actor=north_coordinator, channel="web")
    Incident.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=30))
    assert incidents_escalate_due() == 0


def test_who_handles_a_severe_incident_is_the_nearest_coordinated_area_at_each_level(geo, watcher):
    # given: coordinators of the place's department and of the district above it, one of another
    # department, and an inactive one; nobody holds the place's own locality
    def coordinator(name, area, **fields):
        user = UserFactory(username=name, role=Role.COORDINATOR, **fields)
        CoordinatorScopeFactory(user=user, area=area)
        return user

    north, district = coordinator("c-norte", geo.north), coordinator("c-cba", geo.district)
    coordinator("c-sur", geo.south)
    coordinator("c-baja", geo.north, is_active=False)
    incident = _report(geo, watcher)
    # when / then: level 0 (the locality) finds nobody there and goes to the nearest above, the
    # department; level 1 is the department; level 2 the district; above the top, nobody
    assert [incident_coordinators(incident, level) for level in range(4)] == [[north], [north], [district], []]
