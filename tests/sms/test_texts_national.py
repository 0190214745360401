"""Texts for real school names (fixtures/national-schools-sample.csv: the 150 longest names and
addresses of the 2019 national list and 150 others): never cut, two segments when needed, and the
composer and the template editor say which texts take two."""

import csv
import html
from pathlib import Path

import pytest

from backend.elections.models import PollingPlace
from backend.messaging.encoding import transliterate
from backend.messaging.measure import KINDS_WITH_SCHOOL, example_link, measure
from backend.messaging.models import MessageTemplate
from backend.messaging.texts import DEFAULT_TEXTS

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "national-schools-sample.csv"


@pytest.fixture(scope="module")
def schools() -> list[dict]:
    with open(SAMPLE, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("kind", KINDS_WITH_SCHOOL)
def test_every_text_carries_the_full_school_name(schools, kind):
    tally = measure(schools, kind=kind, link=example_link("https://fiscaliza.example.org"))
    assert tally.texts == 300
    assert tally.full_name == tally.texts, tally.cut[:5]


def test_the_longest_names_take_two_segments_and_the_rest_one(schools):
    link = example_link("https://fz.ar")
    longest, others = measure(schools[:150], link=link), measure(schools[150:], link=link)
    # the texts are honest about their cost: long names go in two segments, typical ones in one
    assert longest.share(longest.one_segment) < 0.2
    assert others.share(others.one_segment) > 0.5
    assert longest.longest[0] <= 306  # never a third segment for an assignment


def test_an_abbreviation_is_used_only_when_it_saves_a_segment(schools):
    # "ESCUELA" stays "ESCUELA" in a text that fits anyway
    name = "ESCUELA 25 DE MAYO"
    body = str(DEFAULT_TEXTS["confirmation_received"])
    from backend.messaging.texts import render

    text = render(body, {"nombre": "Ana", "escuela": name, "dia": "Dom 11/08", "hora": "7:30"}).body
    assert transliterate(name) in text


@pytest.mark.django_db
def test_the_composer_says_which_texts_take_two_segments(client, geo, north_coordinator, north_volunteer, schools):
    from backend.assignments.models import AssignmentRole
    from backend.assignments.services import assignment_create

    # given: a school with one of the longest real names and addresses
    long_row = max(schools, key=lambda r: len(r["escuela"] + r["direccion"]))
    PollingPlace.objects.filter(pk=geo.north_place.pk).update(name=long_row["escuela"], address=long_row["direccion"])
    assignment_create(
        volunteer=north_volunteer,
        place=geo.north_place,
        table=geo.north_tables[0],
        role=AssignmentRole.TABLE,
        source="admin",
        notify=False,
    )
    client.force_login(north_coordinator)
    # when: the coordinator previews an instruction naming the school and the link
    response = client.post(
        "/consola/instrucciones/vista-previa/",
        {
            "body": "Fiscaliza: {nombre}, mañana capacitación en {escuela}, {direccion}. Info: {link}",
            "transliterate": "1",
        },
    )
    # then
    page = html.unescape(response.content.decode())
    assert 'data-testid="multi-segment"' in page, page[:2000]
    assert transliterate(long_row["escuela"])[:30] in page or long_row["escuela"][:30] in page


@pytest.mark.django_db
def test_the_template_editor_shows_the_text_with_the_longest_school_name(admin_client, geo, schools):
    long_row = max(schools, key=lambda r: len(r["escuela"]))
    PollingPlace.objects.filter(pk=geo.south_place.pk).update(name=long_row["escuela"], address=long_row["direccion"])
    template = MessageTemplate.objects.create(kind="assignment", body=str(DEFAULT_TEXTS["assignment"]))
    page = html.unescape(admin_client.get(f"/admin/messaging/messagetemplate/{template.pk}/change/").content.decode())
    assert "2 segmentos" in page
    assert transliterate(long_row["escuela"]) in page
