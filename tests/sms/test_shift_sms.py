"""Shifts by SMS: LLEGUE from the afternoon watcher, ENTREGO from the morning one (typos tolerated),
and the reminders to both before the handover, rendered for real school names."""

import csv
import datetime
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from backend.assignments.models import Assignment, AssignmentRole, AssignmentStatus, Shift
from backend.assignments.services import assignment_create, assignment_transition
from backend.messaging.measure import FIRST_NAMES
from backend.messaging.models import OutboundMessage, TemplateKind
from backend.messaging.texts import DEFAULT_TEXTS, render
from backend.notices.reminders import reminders_shift
from backend.tableday.models import TableReport
from sms.commands import handover_keyword_parse
from sms.tasks import relay_notices
from tests.sms.webhook import inbound_params, twiml_text

from ..factories import UserFactory, VolunteerFactory

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "national-schools-sample.csv"


@pytest.fixture
def pair(geo):
    """Table 1 of Escuela Norte: Ana in the morning, Bruno in the afternoon (both confirmed by SMS)."""
    ana = VolunteerFactory(area=geo.north_town, first_name="Ana", last_name="Morales", user=UserFactory(username="ana"))
    bruno = VolunteerFactory(
        area=geo.north_town, first_name="Bruno", last_name="Tardes", user=UserFactory(username="bruno")
    )
    halves = []
    for volunteer, shift in ((ana, Shift.MORNING), (bruno, Shift.AFTERNOON)):
        a = assignment_create(
            volunteer=volunteer,
            place=geo.north_place,
            table=geo.north_tables[0],
            role=AssignmentRole.TABLE,
            source="web",
            shift=shift,
            notify=False,
        )
        halves.append(assignment_transition(assignment=a, to_status=AssignmentStatus.CONFIRMED, source="sms"))
    return halves


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ENTREGO", True),
        ("Entregué", True),
        ("entrege la mesa 1", True),
        ("entrgo", True),
        ("entrego la mesa a las 13 y me fui al kiosco", False),
        ("entrada", False),
        ("", False),
    ],
)
def test_the_handover_keyword_tolerates_accents_typos_and_the_table_number(text, expected):
    assert handover_keyword_parse(text) is expected


def test_llegue_and_entrego_hand_the_table_over_on_its_timeline(signed_post, pair, election_day, geo):
    morning, afternoon = pair
    ana, bruno = morning.volunteer, afternoon.volunteer
    # given: Ana is at the table since the morning
    assert (
        "registramos tu llegada"
        in twiml_text(signed_post("/sms/inbound/", inbound_params(ana.phone, "LLEGUE"))).lower()
    )
    # when: Ana tries to leave before Bruno arrives
    early = twiml_text(signed_post("/sms/inbound/", inbound_params(ana.phone, "ENTREGO")))
    # then: she is told to wait for him
    assert "Bruno Tardes todavia no aviso que llego" in early
    # when: Bruno arrives, then Ana hands over (with a typo)
    twiml_text(signed_post("/sms/inbound/", inbound_params(bruno.phone, "llegue")))
    done = twiml_text(signed_post("/sms/inbound/", inbound_params(ana.phone, "entrege la mesa 1")))
    # then
    assert "entregaste la mesa 1 a Bruno Tardes" in done
    assert Assignment.objects.get(pk=morning.pk).status == "done"
    assert Assignment.objects.get(pk=afternoon.pk).status == "checked_in"
    entries = list(TableReport.objects.filter(table=geo.north_tables[0]).values_list("state", "channel", "actor"))
    assert entries == [
        ("shift_arrived", "sms", ana.user.pk),
        ("shift_arrived", "sms", bruno.user.pk),
        ("handed_over", "sms", ana.user.pk),
    ]
    # and a repeated ENTREGO changes nothing and says so kindly
    again = twiml_text(signed_post("/sms/inbound/", inbound_params(ana.phone, "ENTREGO")))
    assert "entregaste la mesa 1" in again
    assert TableReport.objects.filter(state="handed_over").count() == 1


def _at(day, hour, minute):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def test_both_watchers_are_reminded_once_before_the_handover(pair, election_day, geo, settings):
    settings.SMS_BACKEND = "local"
    morning, afternoon = pair
    day = geo.election.date
    # when: beat runs every five minutes through the morning
    assert reminders_shift(now=_at(day, 11, 55)) == 0  # more than an hour before 13:00
    assert reminders_shift(now=_at(day, 12, 0)) == 2
    assert reminders_shift(now=_at(day, 12, 5)) == 0
    assert reminders_shift(now=_at(day, 13, 0)) == 0  # at the handover it is too late to remind
    relay_notices()
    # then
    texts = {m.volunteer_id: m for m in OutboundMessage.objects.all()}
    incoming, outgoing = texts[afternoon.volunteer_id], texts[morning.volunteer_id]
    assert incoming.kind == TemplateKind.SHIFT_INCOMING
    assert "hoy a las 13:00 te esperan en la mesa 1 de Escuela Norte" in incoming.body
    assert "LLEGUE" in incoming.body
    assert outgoing.kind == TemplateKind.SHIFT_OUTGOING
    assert "a las 13:00 te reemplaza Bruno Tardes en la mesa 1" in outgoing.body and "ENTREGO" in outgoing.body
    assert incoming.segments == outgoing.segments == 1


def test_the_reminders_follow_the_elections_handover_time_and_skip_who_has_arrived(pair, election_day, geo):
    morning, afternoon = pair
    geo.election.shift_handover_time = datetime.time(14, 30)
    geo.election.save(update_fields=["shift_handover_time"])
    Assignment.objects.filter(pk=afternoon.pk).update(status=AssignmentStatus.CHECKED_IN)
    day = geo.election.date
    assert reminders_shift(now=_at(day, 12, 30)) == 0
    assert reminders_shift(now=_at(day, 13, 45)) == 1  # the morning one only: Bruno is already there
    notice = morning.notices.get()
    assert notice.payload == {"which": "shift_out", "time": "14:30", "other": "Bruno Tardes"}


def test_a_morning_watcher_without_a_partner_gets_no_handover_reminder(geo, election_day):
    volunteer = VolunteerFactory(area=geo.north_town)
    assignment_create(
        volunteer=volunteer,
        place=geo.north_place,
        table=geo.north_tables[1],
        role=AssignmentRole.TABLE,
        source="web",
        shift=Shift.MORNING,
        notify=False,
    )
    Assignment.objects.update(status=AssignmentStatus.CONFIRMED)
    assert reminders_shift(now=_at(geo.election.date, 12, 30)) == 0


def test_the_beat_schedule_runs_the_shift_reminders():
    entry = django_settings.CELERY_BEAT_SCHEDULE["sms-remind-shift"]
    assert entry["task"] == "sms.remind_shift" and entry["schedule"] <= 300


def test_the_shift_texts_fit_for_real_long_school_names_and_long_names():
    with open(SAMPLE, encoding="utf-8") as handle:
        schools = list(csv.DictReader(handle))
    incoming = str(DEFAULT_TEXTS[TemplateKind.SHIFT_INCOMING])
    outgoing = str(DEFAULT_TEXTS[TemplateKind.SHIFT_OUTGOING])
    longest = 0
    for i, row in enumerate(schools):
        text = render(
            incoming,
            {"nombre": FIRST_NAMES[i % len(FIRST_NAMES)], "hora": "13:00", "mesa": "1234", **row}
            | {"escuela": row["escuela"], "direccion": row.get("direccion", "")},
        )
        longest = max(longest, len(text.body))
        assert text.segments <= 2
    assert longest <= 306
    # the morning text names no school: one segment even with a long first name and a long partner name
    for name, partner in (("Maximiliano", "María de los Ángeles Fernández Etcheverry"), ("Sol", "Juan Pérez")):
        text = render(outgoing, {"nombre": name, "hora": "13:00", "mesa": "1234", "otro": partner})
        assert text.segments == 1, text.body
