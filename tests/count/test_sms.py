"""Result sheets by SMS through the signed webhook: understood, asked back field by field, flagged."""

import html

import pytest

from backend.accounts.models import Role
from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.count.models import ResultSheet, SheetStatus
from backend.tableday.models import TableReport
from sms.sheets import SheetSms, sheet_sms_parse
from tests.sms.webhook import inbound_params, twiml_text

from ..factories import UserFactory, VolunteerFactory
from ..sms.conftest import fake_twilio, signed_post, twilio_backend  # noqa: F401 (fixtures)
from .conftest import png_bytes


def _reply(response) -> str:
    return html.unescape(twiml_text(response))


@pytest.fixture
def verified(watcher):
    watcher.phone_verified = True
    watcher.save(update_fields=["phone_verified"])
    return watcher


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ACTA 1 GOB 100 60 20 B 5 N 3 R 1 I 0 V 189",
            SheetSms(1, "GOB", [100, 60, 20], {"blank": 5, "null": 3, "contested": 1, "challenged": 0, "voters": 189}),
        ),
        (
            "acta gob 100 60 20 b5 n3 t 189",
            SheetSms(None, "GOB", [100, 60, 20], {"blank": 5, "null": 3, "voters": 189}),
        ),
        ("Acta 1 GOB V 189", SheetSms(1, "GOB", [], {"voters": 189})),
        ("ACTA 1 GOB 100 X 4", SheetSms(1, "GOB", [100], {}, ["X", "4"])),
        ("ACTA", None),
        ("ACTA 1234", None),
        ("Acta enviada", None),
        ("acta enviada mesa 3", None),
    ],
)
def test_the_format(text, expected):
    assert sheet_sms_parse(text) == expected


def test_a_complete_sheet_is_received_and_the_reply_says_what_was_understood(signed_post, geo, ballot, verified):  # noqa: F811
    # when
    reply = _reply(
        signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 GOB 100 60 20 B 5 N 3 R 1 I 0 V 189"))
    )
    # then
    sheet = ResultSheet.objects.get()
    assert (sheet.status, sheet.current, sheet.source, sheet.actor) == (
        SheetStatus.ACCEPTED,
        True,
        "sms",
        verified.user,
    )
    assert "mesa 1 GOB: 3 de 3 listas, B 5 N 3 R 1 I 0 V 189. Recibida, gracias." in reply
    assert not TableReport.objects.filter(state="sheet_sent").exists()


def test_a_wrong_total_is_asked_back(signed_post, geo, ballot, verified):  # noqa: F811
    reply = _reply(
        signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 GOB 100 60 20 B 5 N 3 R 1 I 0 V 200"))
    )
    assert ResultSheet.objects.get().status == SheetStatus.FLAGGED
    assert "No cierra" in reply and "suman 189" in reply and "votantes dice 200" in reply


def test_a_missing_total_is_asked_field_by_field_and_the_answer_completes_the_sheet(signed_post, geo, ballot, verified):  # noqa: F811
    # given: no R, I, V
    first = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA GOB 100 60 20 B 5 N 3")))
    assert "Falta R. Respondé: ACTA 1 GOB R <numero>" in first
    # when
    second = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 GOB R 1")))
    third = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 GOB I 0 V 189")))
    # then
    assert "Falta I." in second
    assert "Recibida, gracias." in third
    sheets = list(ResultSheet.objects.order_by("id"))
    assert [s.status for s in sheets] == [SheetStatus.FLAGGED, SheetStatus.FLAGGED, SheetStatus.ACCEPTED]
    assert sheets[-1].current and sheets[-1].voters == 189 and sheets[-1].votes[str(ballot.ours.pk)] == 100


def test_too_many_numbers_or_an_unknown_code_change_nothing(signed_post, geo, ballot, verified):  # noqa: F811
    many = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 GOB 1 2 3 4 V 10")))
    unknown = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 1 DIP 1 2 V 3")))
    other = _reply(signed_post("/sms/inbound/", inbound_params(verified.phone, "ACTA 2 GOB 1 2 3 V 6")))
    assert "mandaste 4 numeros de listas y el acta de GOB tiene 3" in many
    assert "no conozco la categoria DIP. Usa: GOB INT" in unknown
    assert "la mesa 2 no es tuya" in other
    assert not ResultSheet.objects.exists()


def test_a_fiscal_general_sends_the_sheet_of_any_table_of_the_place_and_of_no_other(signed_post, geo, ballot):  # noqa: F811
    # given: a fiscal general of the north school, no table of their own
    general = VolunteerFactory(
        area=geo.north_town, phone_verified=True, user=UserFactory(username="general-norte", role=Role.VOLUNTEER)
    )
    assignment_create(
        volunteer=general, place=geo.north_place, table=None, role=AssignmentRole.PLACE, source="admin", notify=False
    )
    figures = "GOB 100 60 20 B 5 N 3 R 1 I 0 V 189"
    # when
    without_number = _reply(signed_post("/sms/inbound/", inbound_params(general.phone, f"ACTA {figures}")))
    south = _reply(signed_post("/sms/inbound/", inbound_params(general.phone, f"ACTA 101 {figures}")))
    north = _reply(signed_post("/sms/inbound/", inbound_params(general.phone, f"ACTA 2 {figures}")))
    # then: the table must be named, only the school's tables are theirs
    assert "indica la mesa" in without_number
    assert "la mesa 101 no es tuya" in south
    assert "mesa 2 GOB: 3 de 3 listas" in north and "Recibida" in north
    sheet = ResultSheet.objects.get()
    assert (sheet.table, sheet.status, sheet.actor) == (geo.north_tables[1], SheetStatus.ACCEPTED, general.user)


def test_a_photo_of_the_sheet_by_mms_goes_to_transcription(
    signed_post,  # noqa: F811
    twilio_backend,  # noqa: F811
    settings,
    geo,
    ballot,
    verified,
):
    # given: the photo on the (fake) Twilio media server
    twilio_backend.credentials = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    photo = png_bytes()
    params = inbound_params(verified.phone, "ACTA 1 GOB")
    params.update(NumMedia="1", MediaUrl0=twilio_backend.add_media("image/png", photo), MediaContentType0="image/png")
    # when
    reply = _reply(signed_post("/sms/inbound/", params))
    # then
    sheet = ResultSheet.objects.get()
    assert (sheet.status, sheet.category, sheet.actor) == (SheetStatus.PHOTO_ONLY, ballot.governor, verified.user)
    assert sheet.photo.read() == photo
    assert "recibimos la foto del acta de la mesa 1 (GOB)" in reply
