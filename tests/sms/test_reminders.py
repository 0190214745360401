"""Scheduled reminders: unconfirmed volunteers days before, confirmed ones the evening before; once each."""

import datetime

import pytest
from django.conf import settings as django_settings

from backend.assignments.models import AssignmentStatus
from backend.assignments.services import assignment_confirm, assignment_create, assignment_transition
from backend.messaging.models import OutboundMessage
from backend.notices.reminders import reminders_eve, reminders_unconfirmed
from sms.tasks import relay_notices

from ..factories import VolunteerFactory

pytestmark = pytest.mark.django_db


def test_reminders_go_once_to_the_right_people(geo, north_volunteer, settings):
    # given: one confirmed watcher, one told but unconfirmed, and a proposal nobody was told of
    settings.SMS_BACKEND = "local"
    unconfirmed = assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role="table",
        source="admin",
        notify=False,
    )
    assignment_transition(assignment=unconfirmed, to_status=AssignmentStatus.NOTIFIED, source="sms")
    never_told = assignment_create(
        volunteer=VolunteerFactory(first_name="Nadia"),
        place=geo.north_place,
        table=geo.north_tables[2],
        role="table",
        source="admin",
        notify=False,
    )
    other = VolunteerFactory(first_name="Juana")
    confirmed = assignment_create(
        volunteer=other, place=geo.north_place, table=geo.north_tables[1], role="table", source="admin", notify=False
    )
    assignment_confirm(assignment=confirmed, source="admin")
    election_day = geo.election.date
    days_before = election_day - datetime.timedelta(days=django_settings.SMS_REMINDER_DAYS_BEFORE)
    # when: beat runs the tasks on their days, twice
    assert reminders_unconfirmed(today=days_before) == 1
    assert reminders_unconfirmed(today=days_before) == 0
    assert reminders_eve(today=election_day - datetime.timedelta(days=1)) == 1
    assert reminders_eve(today=election_day - datetime.timedelta(days=1)) == 0
    assert reminders_unconfirmed(today=election_day) == 0
    relay_notices()
    # then
    texts = {m.volunteer_id: m for m in OutboundMessage.objects.all()}
    assert texts[unconfirmed.volunteer_id].kind == "reminder" and "SI o NO" in texts[unconfirmed.volunteer_id].body
    assert texts[confirmed.volunteer_id].kind == "reminder_eve" and "LLEGUE" in texts[confirmed.volunteer_id].body
    assert len(texts) == 2 and never_told.volunteer_id not in texts


def test_beat_schedule_names_the_reminder_tasks():
    tasks = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"sms.remind_unconfirmed", "sms.remind_eve", "sms.relay_notices", "sms.reconcile_sending"} <= tasks
    from backend.celery import app

    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)
