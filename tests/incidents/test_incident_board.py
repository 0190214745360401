"""The incident board in the console: take, resolve, notes (audited, the watcher told); severe
incidents reach the area's coordinators by SMS through the outbox, and escalate up the tree; export."""

import datetime
import io

from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from backend.accounts.models import Role
from backend.console.models import ExportLog
from backend.incidents.models import Incident, IncidentEvent
from backend.incidents.services import incident_report, incidents_escalate_due
from backend.messaging.models import OutboundMessage
from backend.notices.models import Notice
from tests.factories import CoordinatorScopeFactory, UserFactory


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _report(geo, watcher, text="faltan boletas de la lista 3", **kwargs):
    return incident_report(
        place=geo.north_place, table=geo.north_tables[0], text=text, actor=watcher.user, channel="sms", **kwargs
    )


def test_the_coordinator_takes_notes_and_resolves_and_the_watcher_is_told_each_time(geo, watcher, north_coordinator):
    incident = _report(geo, watcher)
    client = _client(north_coordinator)
    board = client.get("/consola/dia/incidentes/")
    assert [i.pk for i in board.context["page"].object_list] == [incident.pk]

    client.post(f"/consola/dia/incidentes/{incident.pk}/tomar/")
    incident.refresh_from_db()
    assert (incident.status, incident.owner) == ("in_progress", north_coordinator)
    client.post(f"/consola/dia/incidentes/{incident.pk}/nota/", {"text": "llamé al presidente de mesa"})
    client.post(f"/consola/dia/incidentes/{incident.pk}/resolver/", {"note": "llegaron boletas"})
    incident.refresh_from_db()
    assert incident.status == "resolved"

    kinds = list(IncidentEvent.objects.filter(incident=incident).values_list("kind", "actor_id", "channel"))
    assert kinds == [
        ("created", watcher.user.pk, "sms"),
        ("taken", north_coordinator.pk, "web"),
        ("note", north_coordinator.pk, "web"),
        ("status", north_coordinator.pk, "web"),
    ]
    told = [n.payload["text"] for n in Notice.objects.filter(volunteer=watcher).order_by("id")]
    assert len(told) == 2
    assert "tomó tu problema" in told[0] and "resuelto" in told[1]


def test_an_empty_note_is_refused_with_a_message_and_records_nothing(geo, watcher, north_coordinator):
    incident = _report(geo, watcher)
    response = _client(north_coordinator).post(
        f"/consola/dia/incidentes/{incident.pk}/nota/", {"text": "  "}, follow=True
    )
    assert "La nota está vacía." in [str(m) for m in response.context["messages"]]
    assert not IncidentEvent.objects.filter(incident=incident, kind="note").exists()


def test_another_areas_coordinator_neither_sees_nor_takes_it(geo, watcher, south_coordinator):
    incident = _report(geo, watcher)
    client = _client(south_coordinator)
    assert list(client.get("/consola/dia/incidentes/").context["page"].object_list) == []
    assert client.post(f"/consola/dia/incidentes/{incident.pk}/tomar/").status_code == 404
    incident.refresh_from_db()
    assert (incident.status, incident.owner) == ("open", None)


def test_the_board_lists_unresolved_and_severe_first_and_filters(geo, watcher, north_coordinator):
    low = _report(geo, watcher, text="hay afiches en el patio", severity="low")
    severe = _report(geo, watcher, text="amenazaron al fiscal", severity="high")
    done = _report(geo, watcher, text="faltan boletas", severity="high")
    client = _client(north_coordinator)
    client.post(f"/consola/dia/incidentes/{done.pk}/resolver/")
    page = client.get("/consola/dia/incidentes/")
    assert [i.pk for i in page.context["page"].object_list] == [severe.pk, low.pk, done.pk]
    only_open = client.get("/consola/dia/incidentes/", {"estado": "open"})
    assert [i.pk for i in only_open.context["page"].object_list] == [severe.pk, low.pk]


def test_a_severe_incident_reaches_the_areas_coordinators_by_sms_through_the_outbox(geo, watcher, north_coordinator):
    north_coordinator.phone = "+54 9 351 555-0101"
    north_coordinator.save(update_fields=["phone"])
    no_phone = UserFactory(username="coord-norte-2", role=Role.COORDINATOR)
    CoordinatorScopeFactory(user=no_phone, area=geo.north)
    _report(geo, watcher, text="faltan boletas", severity="medium")
    assert not OutboundMessage.objects.exists()

    incident = _report(geo, watcher, text="amenazaron al fiscal de la mesa", severity="high")
    sent = OutboundMessage.objects.get()
    assert (sent.to, sent.volunteer, sent.kind) == ("+5493515550101", None, "staff_alert")
    assert f"#{incident.pk}" in sent.body and "Escuela Norte" in sent.body and "/consola/dia/incidentes/" in sent.body


def test_an_untaken_severe_incident_escalates_and_the_coordinator_above_is_told(geo, watcher, north_coordinator):
    north_coordinator.phone = "+5493515550101"
    north_coordinator.save(update_fields=["phone"])
    above = UserFactory(username="coord-provincia", role=Role.COORDINATOR, phone="+5493515550202")
    CoordinatorScopeFactory(user=above, area=geo.district)
    incident = _report(geo, watcher, text="amenazaron al fiscal", severity="high")
    # The place is in north_town (nobody), under north (north_coordinator): they hear it first.
    assert list(OutboundMessage.objects.values_list("to", flat=True)) == ["+5493515550101"]

    later = timezone.now() + datetime.timedelta(minutes=16)
    assert incidents_escalate_due(now=later) == 1
    # level 1 is north: the same coordinator, told that nobody took it
    assert incidents_escalate_due(now=later + datetime.timedelta(minutes=16)) == 1
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    last = OutboundMessage.objects.order_by("-id").first()
    assert last.to == "+5493515550202" and "ESCALADO" in last.body


def test_a_taken_severe_incident_does_not_escalate(geo, watcher, north_coordinator):
    incident = _report(geo, watcher, text="amenazaron al fiscal", severity="high")
    _client(north_coordinator).post(f"/consola/dia/incidentes/{incident.pk}/tomar/")
    assert incidents_escalate_due(now=timezone.now() + datetime.timedelta(hours=1)) == 0


def test_the_legal_export_has_every_field_and_the_history_and_is_scoped_and_logged(
    geo, watcher, north_coordinator, south_volunteer
):
    incident = _report(geo, watcher, text='=HYPERLINK("http://x") faltan boletas')
    incident_report(place=geo.south_place, text="afiches", actor=None, channel="web")
    client = _client(north_coordinator)
    client.post(f"/consola/dia/incidentes/{incident.pk}/tomar/")
    response = client.get("/consola/dia/incidentes.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Número" and "Historial" in rows[0] and "Fotos" in rows[0]
    assert [r[0] for r in rows[1:]] == [incident.pk]  # the south incident is not in this scope
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Mesa"] == 1 and row["Estado"] == "En curso" and row["Establecimiento"] == "Escuela Norte"
    assert row["Texto"].startswith("'=") or not str(row["Texto"]).startswith("=")  # no formula
    assert "Tomado" in row["Historial"] and "Informado" in row["Historial"]
    log = ExportLog.objects.get()
    assert (log.kind, log.user, log.rows) == ("incidents", north_coordinator, 1)
    assert Incident.objects.count() == 2
