"""The table's timeline by SMS: ABRIO, CERRO, ESCRUTADA, ACTA through the signed webhook."""

import pytest

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.tableday.models import TableReport, TableState
from sms.commands import TableKeyword, table_keyword_parse
from tests.sms.webhook import inbound_params, twiml_text

from ..factories import TableFactory


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ABRIO", TableKeyword(TableState.OPEN, None, True)),
        ("Abrió", TableKeyword(TableState.OPEN, None, True)),
        ("abrrio", TableKeyword(TableState.OPEN, None, False)),
        ("CERRO 1234", TableKeyword(TableState.CLOSED, 1234, True)),
        ("cerró la mesa 1234", TableKeyword(TableState.CLOSED, 1234, True)),
        ("ESCRUTADA", TableKeyword(TableState.COUNTED, None, True)),
        ("escrutda 12", TableKeyword(TableState.COUNTED, 12, False)),
        ("Acta enviada", TableKeyword(TableState.SHEET_SENT, None, True)),
        ("ACTA", TableKeyword(TableState.SHEET_SENT, None, True)),
        ("cerro el kiosco de enfrente", None),
        ("hola", None),
        ("", None),
    ],
)
def test_table_keywords_tolerate_accents_typos_and_a_table_number(text, expected):
    assert table_keyword_parse(text) == expected


def test_abrio_opens_the_watchers_table_and_answers_in_one_segment(signed_post, assigned, north_volunteer, geo):
    # when
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "Abrió")))
    # then
    row = TableReport.objects.get()
    assert (row.table, row.state, row.channel, row.actor) == (geo.north_tables[0], "open", "sms", north_volunteer.user)
    assert "mesa 1 ABIERTA" in reply


def test_a_repeated_or_late_text_never_moves_the_table_back(signed_post, assigned, north_volunteer):
    # given
    signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "CERRO"))
    # when: the ABRIO sent earlier arrives late, and CERRO again
    late = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ABRIO")))
    signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "cerrro"))
    # then
    assert list(TableReport.objects.values_list("state", flat=True)) == ["closed"]
    assert "mesa 1 CERRADA" in late


def test_acta_is_the_sheet_not_an_opt_in(signed_post, assigned, north_volunteer):
    # when
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ACTA")))
    # then
    assert TableReport.objects.get().state == "sheet_sent"
    assert "ACTA ENVIADA" in reply


def test_the_fiscal_general_names_the_table_and_reports_for_any_table_of_the_school(signed_post, geo, north_volunteer):
    # given: the place watcher of Escuela Norte (one slot per election: the school, no table)
    assignment_create(
        volunteer=north_volunteer, place=geo.north_place, table=None, role=AssignmentRole.PLACE, source="admin"
    )
    other = TableFactory(place=geo.north_place, district=geo.district, number=9)
    # when
    asked = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ABRIO")))
    opened = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ABRIO 9")))
    elsewhere = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ABRIO 101")))
    # then
    assert "indica el numero de mesa, por ejemplo: ABRIO 1234" in asked
    assert "mesa 9 ABIERTA" in opened
    assert "101 no es tuya" in elsewhere
    assert TableReport.objects.get().table == other


def test_a_table_that_is_not_the_watchers_is_refused_and_nothing_is_written(signed_post, assigned, north_volunteer):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ABRIO 101")))
    assert "101 no es tuya" in reply
    assert not TableReport.objects.exists()


def test_a_stranger_learns_nothing_and_writes_nothing(signed_post, assigned):
    reply = twiml_text(signed_post("/sms/inbound/", inbound_params("+5493510000000", "ABRIO 1")))
    assert "mesa 1" not in reply
    assert not TableReport.objects.exists()
