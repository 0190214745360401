"""The count's doors: the API (submit, list, quick count, official upload, discrepancies, resolve)
and the watcher's magic-link page (the form per category, a photo stored with its hash)."""

import hashlib
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from api.count import SheetOutputSerializer, TableSheetsApi, _sheet_input
from backend.accounts.services import magic_link_issue
from backend.assignments.models import EventSource
from backend.count.models import ResultSheet, SheetStatus
from backend.tableday.services import table_report

from .conftest import png_bytes


@pytest.fixture
def api():
    return APIClient()


def _payload(ballot, voters=189):
    return {
        "category": "GOB",
        "votes": {str(ballot.ours.pk): 100, str(ballot.cambia.pk): 60, str(ballot.ucr.pk): 20},
        "blank": 5,
        "null": 3,
        "contested": 1,
        "challenged": 0,
        "voters": voters,
    }


def test_the_watcher_submits_by_api_and_reads_the_tables_sheets(api, geo, ballot, watcher):
    api.force_authenticate(watcher.user)
    table = geo.north_tables[0]
    created = api.post(f"/api/tables/{table.pk}/sheets/", _payload(ballot), format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["status"], created.json()["current"]) == ("accepted", True)
    listed = api.get(f"/api/tables/{table.pk}/sheets/").json()
    assert [s["id"] for s in listed] == [created.json()["id"]]


@pytest.mark.usefixtures("media_and_inline_worker")
def test_a_submitted_sheet_is_answered_exactly_as_its_documented_serializer(api, geo, ballot, watcher):
    # given
    api.force_authenticate(watcher.user)
    url = f"/api/tables/{geo.north_tables[0].pk}/sheets/"
    photo = SimpleUploadedFile("acta.png", png_bytes(), content_type="image/png")
    with_photo = {**_payload(ballot), "votes": json.dumps(_payload(ballot)["votes"]), "photo": photo}
    with_photo.pop("challenged")  # a figure left out: null
    # when: a sheet by JSON, then another with its photo (multipart)
    typed = api.post(url, _payload(ballot), format="json")
    photographed = api.post(url, with_photo, format="multipart")
    # then: the JSON the serializer (the schema's description) gives for the same stored rows
    for response in (typed, photographed):
        assert response.status_code == 201, response.content
        sheet = ResultSheet.objects.select_related("category").get(pk=response.json()["id"])
        assert response.json() == json.loads(JSONRenderer().render(SheetOutputSerializer(sheet).data))
    assert photographed.json()["photo_url"].endswith(".png") and photographed.json()["challenged"] is None
    assert typed.json()["photo_url"] == "" and typed.json()["category_code"] == "GOB"


def test_another_tables_watcher_and_other_areas_are_refused(api, geo, ballot, watcher, south_coordinator):
    api.force_authenticate(watcher.user)
    other = api.post(f"/api/tables/{geo.north_tables[1].pk}/sheets/", _payload(ballot), format="json")
    api.force_authenticate(south_coordinator)
    outside = api.post(f"/api/tables/{geo.north_tables[0].pk}/sheets/", _payload(ballot), format="json")
    assert (other.status_code, outside.status_code) == (403, 403)
    assert not ResultSheet.objects.exists()


def test_bad_input_is_a_clear_400(api, geo, ballot, watcher):
    api.force_authenticate(watcher.user)
    url = f"/api/tables/{geo.north_tables[0].pk}/sheets/"
    negative = api.post(url, {**_payload(ballot), "blank": -2}, format="json")
    unknown = api.post(url, {**_payload(ballot), "category": "XYZ"}, format="json")
    assert negative.status_code == 400 and "blank" in negative.content.decode()
    assert unknown.status_code == 400 and unknown.json()["code"] == "count_unknown_category"
    assert not ResultSheet.objects.exists()


@pytest.mark.usefixtures("media_and_inline_worker")
def test_quick_count_discrepancies_and_resolution_through_the_api(
    api, geo, ballot, watcher, lead, north_coordinator, south_coordinator, django_capture_on_commit_callbacks
):
    # given: our sheet, then an official file with 7 of our votes missing at table 1
    table = geo.north_tables[0]
    api.force_authenticate(watcher.user)
    api.post(f"/api/tables/{table.pk}/sheets/", _payload(ballot), format="json")
    official = (
        "mesa,Hacemos por Córdoba,Córdoba Cambia,Unión Cívica Radical,Voto en BLANCO,Votos NULOS,"
        "Votos RECURRIDOS,Votos IMPUGNADOS,cant_votantes\n1,93,60,20,5,3,1,0,182\n"
    )
    api.force_authenticate(lead)
    with django_capture_on_commit_callbacks(execute=True):
        uploaded = api.post(
            f"/api/elections/{geo.election.pk}/official-imports/",
            {"file": SimpleUploadedFile("oficial.csv", official.encode()), "layout": "wide", "category": "GOB"},
            format="multipart",
        )
    with django_capture_on_commit_callbacks(execute=True):
        api.post(api.get(uploaded["Location"]).json()["apply_url"])
    assert api.get(uploaded["Location"]).json()["counts"]["sheets"] == 1
    # when
    api.force_authenticate(north_coordinator)
    count = api.get(f"/api/elections/{geo.election.pk}/quick-count/?category=GOB&area={geo.north.pk}").json()
    found = api.get(f"/api/elections/{geo.election.pk}/discrepancies/?area={geo.north.pk}").json()
    export = api.get(f"/api/elections/{geo.election.pk}/discrepancies/?area={geo.north.pk}&export=xlsx")
    api.force_authenticate(south_coordinator)
    refused = api.get(f"/api/elections/{geo.election.pk}/discrepancies/?area={geo.north.pk}")
    everything = api.get(f"/api/elections/{geo.election.pk}/discrepancies/")
    # then
    gob = count["results"][0]
    assert (gob["tables_reported"], gob["tables"], gob["ours_votes"], gob["margin"]) == (1, 3, 100, 40)
    assert found["count"] == 1 and found["results"][0]["at_stake"] == 7 and found["results"][0]["table"] == 1
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[1][4:9] == (1, "Gobernador", "Hacemos por Córdoba", 100, 93)
    assert (refused.status_code, everything.status_code) == (403, 403)


def test_a_coordinator_resolves_a_conflict(api, geo, ballot, watcher, north_coordinator, south_coordinator):
    table = geo.north_tables[0]
    api.force_authenticate(watcher.user)
    api.post(f"/api/tables/{table.pk}/sheets/", _payload(ballot), format="json")
    second = {**_payload(ballot, voters=190), "blank": 6}
    conflict = api.post(f"/api/tables/{table.pk}/sheets/", second, format="json").json()
    assert conflict["status"] == "conflict"
    api.force_authenticate(south_coordinator)
    assert api.post(f"/api/sheets/{conflict['id']}/resolve/", {"note": "x"}, format="json").status_code == 403
    api.force_authenticate(north_coordinator)
    resolved = api.post(f"/api/sheets/{conflict['id']}/resolve/", {"note": "La foto"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["current"] is True


def _path(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def browser(watcher):
    client = Client(enforce_csrf_checks=True)
    client.get(_path(magic_link_issue(volunteer=watcher)), follow=True)
    return client


def test_the_watchers_page_offers_a_form_per_category_after_the_count(browser, geo, ballot):
    mine = browser.get("/mi/").content.decode()
    page = browser.get("/mi/acta/").content.decode()
    assert 'data-testid="sheet-link"' in mine
    assert "Gobernador" in page and "Intendente" in page and "Hacemos por Córdoba" in page
    assert "Vecinal Norte" in page and f'name="list_{ballot.ours.pk}"' in page
    assert "ACTA 1 GOB &lt;1&gt; &lt;2&gt; &lt;3&gt; B" in page


def test_the_watcher_sends_a_sheet_with_its_photo(browser, geo, ballot, watcher):
    # given
    photo = png_bytes()
    data = {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        "category": ballot.governor.pk,
        "mesa": 1,
        f"list_{ballot.ours.pk}": "100",
        f"list_{ballot.cambia.pk}": "60",
        f"list_{ballot.ucr.pk}": "20",
        "blank": "5",
        "null": "3",
        "contested": "1",
        "challenged": "0",
        "voters": "189",
        "photo": SimpleUploadedFile("acta.png", photo, content_type="image/png"),
    }
    # when
    page = browser.post("/mi/acta/enviar/", data, follow=True).content.decode()
    # then
    sheet = ResultSheet.objects.get()
    assert (sheet.status, sheet.source, sheet.actor) == (SheetStatus.ACCEPTED, "web", watcher.user)
    assert sheet.photo_sha256 == hashlib.sha256(photo).hexdigest()
    assert sheet.photo.read() == photo
    assert "Acta de GOB recibida" in page


def test_the_sheet_page_shows_the_figures_already_sent_and_offers_a_correction(browser, geo, ballot, watcher):
    # given a governor's sheet already sent from this page
    sent = {
        "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        "category": ballot.governor.pk,
        "mesa": 1,
        f"list_{ballot.ours.pk}": "100",
        f"list_{ballot.cambia.pk}": "60",
        f"list_{ballot.ucr.pk}": "20",
        "blank": "5",
        "null": "3",
        "contested": "1",
        "challenged": "0",
        "voters": "189",
    }
    browser.post("/mi/acta/enviar/", sent)
    # when the watcher opens the page again
    page = browser.get("/mi/acta/").content.decode()
    # then the governor's form holds what was sent and its button sends a correction
    governor = page.split("(GOB)", 1)[1].split("</section>", 1)[0]
    assert f'name="list_{ballot.ours.pk}" value="100"' in governor
    assert f'name="list_{ballot.ucr.pk}" value="20"' in governor
    assert 'name="challenged" value="0"' in governor and 'name="voters" value="189"' in governor
    assert "Enviar corrección de GOB" in governor
    # and the mayor's form, never sent, stays empty
    mayor = page.split("(INT)", 1)[1].split("</section>", 1)[0]
    assert 'name="voters" value=""' in mayor and "Enviar acta de INT" in mayor


def test_a_sheet_before_the_count_or_with_letters_changes_nothing(browser, geo, ballot, watcher):
    token = browser.cookies["csrftoken"].value
    letters = browser.post(
        "/mi/acta/enviar/",
        {"csrfmiddlewaretoken": token, "category": ballot.governor.pk, f"list_{ballot.ours.pk}": "cien"},
        follow=True,
    ).content.decode()
    assert "«cien» no es un número entero." in letters
    table_report(
        table=geo.north_tables[0], state="waiting", actor=None, channel=EventSource.WEB, correction=True, note="x"
    )
    early = browser.post(
        "/mi/acta/enviar/", {"csrfmiddlewaretoken": token, "category": ballot.governor.pk}, follow=True
    ).content.decode()
    assert "Primero informá que la mesa está escrutada." in early
    assert not ResultSheet.objects.exists()


def test_a_photo_alone_goes_to_transcription_and_a_fake_photo_is_refused(browser, geo, ballot):
    token = browser.cookies["csrftoken"].value
    fake = browser.post(
        "/mi/acta/enviar/",
        {
            "csrfmiddlewaretoken": token,
            "category": ballot.governor.pk,
            "photo": SimpleUploadedFile("a.png", b"not an image"),
        },
        follow=True,
    ).content.decode()
    assert "JPG, PNG o WebP" in fake
    alone = browser.post(
        "/mi/acta/enviar/",
        {
            "csrfmiddlewaretoken": token,
            "category": ballot.governor.pk,
            "photo": SimpleUploadedFile("a.png", png_bytes(), content_type="image/png"),
        },
        follow=True,
    ).content.decode()
    assert "la van a transcribir" in alone
    assert ResultSheet.objects.get().status == SheetStatus.PHOTO_ONLY


def test_a_sheet_for_a_table_that_does_not_exist_is_404_and_stores_nothing(api, geo, ballot, lead):
    api.force_authenticate(lead)
    missing = max(t.pk for t in geo.north_tables + geo.south_tables) + 1000
    response = api.post(f"/api/tables/{missing}/sheets/", _payload(ballot), format="json")
    assert response.status_code == 404
    assert not ResultSheet.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"votes": {}},
        {"blank": None},
        {"voters": 0},
        {"category": "gob"},
        {"category": " GOB "},
        {"category": ""},
        {"category": "X" * 17},
        {"category": 7},
        {"category": "GOB\x00"},
        {"category": None},
        {"votes": {"12": "5"}},
        {"votes": {"12": 5.0}},
        {"votes": {"12": True}},
        {"votes": {"12": -1}},
        {"votes": {"12": None}},
        {"votes": {"x": 5}},
        {"votes": {"-1": 5}},
        {"votes": [5]},
        {"blank": "5"},
        {"blank": -1},
        {"blank": False},
        {"null": 2.5},
        {"extra": 1},
    ],
)
def test_the_quick_json_reading_of_a_sheet_accepts_only_what_the_serializer_keeps_unchanged(change):
    # given: a sheet as JSON gives it, with one thing changed
    payload = {"category": "GOB", "votes": {"12": 100, "13": 60}, "blank": 5, "null": 3, "voters": 168, **change}
    # when
    quick = _sheet_input(json.loads(json.dumps(payload)))
    serializer = TableSheetsApi.InputSerializer(data=json.loads(json.dumps(payload)))
    # then: either it declines (the serializer then answers, errors included) or it reads the same
    if quick is not None:
        assert serializer.is_valid(), serializer.errors
        assert quick == dict(serializer.validated_data)
