"""The fixed cost of a text: how many SQL statements a signed SMS that changes nothing takes, and the
de-duplication of its SID when its row is written outside any transaction (as under the server)."""

import pytest
from django.db import connection

from backend.incidents.models import Incident
from backend.messaging.models import InboundMessage, InboundStatus
from backend.tableday.models import TableDay, TableReport
from tests.sms.webhook import inbound_params, twiml_text


@pytest.mark.django_db(transaction=True)
def test_a_help_text_writes_its_outcome_outside_its_empty_transaction_on_postgresql(
    signed_post, assigned, north_volunteer, django_assert_num_queries
):
    # given: a known watcher asks for help (answered with the same text to everyone), once already:
    # the message templates are read on first use and kept
    twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "AYUDA")))
    params = inbound_params(north_volunteer.phone, "AYUDA")
    # when
    with django_assert_num_queries(5) as queries:
        reply = twiml_text(signed_post("/sms/inbound/", params))
    # then: the volunteer by phone, the row's INSERT on its own, no assignment read. The command sent
    # nothing, so on PostgreSQL its transaction never began (psycopg sends BEGIN with a first
    # statement and no COMMIT for none: Django's log shows them, the server sees neither) and the
    # outcome's UPDATE runs after it, alone; SQLite begins at once and writes it inside.
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    if connection.vendor == "postgresql":
        assert statements == ["SELECT", "INSERT", "BEGIN", "COMMIT", "UPDATE"]
    else:
        assert statements == ["SELECT", "INSERT", "BEGIN", "UPDATE", "COMMIT"]
    assert "MESA" in reply
    stored = InboundMessage.objects.get(sid=params["MessageSid"])
    assert stored.status == InboundStatus.PROCESSED and stored.keyword == "help" and stored.reply in reply
    assert stored.handled_at is not None and stored.error == ""


@pytest.mark.django_db(transaction=True)
def test_a_repeated_sid_outside_any_transaction_is_stored_once_and_answered_alike(
    signed_post, assigned, north_volunteer
):
    # given: Twilio repeats a MessageSid; the row's INSERT runs in autocommit, as under uvicorn
    params = inbound_params(north_volunteer.phone, "MESA")
    # when
    first = twiml_text(signed_post("/sms/inbound/", params))
    second = twiml_text(signed_post("/sms/inbound/", params))
    # then: the unique SID refuses the second row, and the stored reply answers it
    assert first == second and "Escuela Norte" in first
    assert InboundMessage.objects.count() == 1
    assert InboundMessage.objects.get().status == InboundStatus.PROCESSED


@pytest.mark.django_db(transaction=True)
def test_an_incident_by_sms_takes_ten_statements_and_keeps_its_audit_and_reply(
    signed_post, assigned, north_volunteer, geo, django_assert_num_queries
):
    # given: the watcher of table 1 has reported once (the election's categories exist, templates read)
    twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "PROBLEMA faltan boletas en la 1")))
    params = inbound_params(north_volunteer.phone, "PROBLEMA faltan boletas en la 1")
    # when: the usual text, naming the watcher's own table
    with django_assert_num_queries(10) as queries:
        reply = twiml_text(signed_post("/sms/inbound/", params))
    # then: the volunteer, the row, BEGIN, the assignment (with its place's area), the categories,
    # the incident and its audit row, the coordinators of the area chain, the row's outcome, COMMIT
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    assert statements == [
        "SELECT",
        "INSERT",
        "BEGIN",
        "SELECT",
        "SELECT",
        "INSERT",
        "INSERT",
        "SELECT",
        "UPDATE",
        "COMMIT",
    ]
    incident = Incident.objects.order_by("-id").first()
    assert incident is not None
    assert (incident.table, incident.category.code, incident.reporter) == (
        geo.north_tables[0],
        "ballot_shortage",
        north_volunteer.user,
    )
    assert list(incident.events.values_list("kind", "to_value")) == [("created", "ballot_shortage")]
    stored = InboundMessage.objects.get(sid=params["MessageSid"])
    assert stored.status == InboundStatus.PROCESSED and stored.keyword == "incident"
    assert f"problema #{incident.pk} recibido (Faltan boletas, mesa 1)" in reply and stored.reply in reply


@pytest.mark.django_db(transaction=True)
def test_an_opening_by_sms_takes_seven_statements_on_postgresql(
    signed_post, assigned, north_volunteer, geo, django_assert_num_queries
):
    # given: the watcher has texted once (templates read and kept)
    twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "AYUDA")))
    params = inbound_params(north_volunteer.phone, "ABRIO")
    postgresql = connection.vendor == "postgresql"
    # when
    with django_assert_num_queries(7 if postgresql else 9) as queries:
        reply = twiml_text(signed_post("/sms/inbound/", params))
    # then: the volunteer, the row, BEGIN, the assignments with their tables' state, the report with the
    # table's day row (one WITH on PostgreSQL that takes the table's lock; SQLite reads the state again
    # in its write transaction), the row's outcome, COMMIT
    statements = [query["sql"].split()[0] for query in queries.captured_queries]
    reads_and_writes = ["WITH"] if postgresql else ["SELECT", "INSERT", "INSERT"]
    assert statements == ["SELECT", "INSERT", "BEGIN", "SELECT", *reads_and_writes, "UPDATE", "COMMIT"]
    assert "mesa 1 ABIERTA" in reply
    report = TableReport.objects.get()
    assert (report.table, report.state, report.channel, report.actor) == (
        geo.north_tables[0],
        "open",
        "sms",
        north_volunteer.user,
    )
    assert TableDay.objects.get(table=geo.north_tables[0]).opened_at == report.created_at
    assert InboundMessage.objects.get(sid=params["MessageSid"]).keyword == "t_open"
