"""Segment counting, transliteration, template fitting, and the shared rate limiter."""

import itertools
import os

import pytest

from backend.messaging.encoding import segment_info, transliterate
from backend.messaging.texts import DEFAULT_TEXTS, render
from sms.ratelimit import LocalBucket


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("á" + "a" * 69, "UCS-2", 1),
        ("á" + "a" * 70, "UCS-2", 2),
        ("€" * 80, "GSM-7", 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 2),
        ("ñandú", "UCS-2", 1),
        ("ñandu ¿sí?", "UCS-2", 1),
        ("ñandu ¿si?", "GSM-7", 1),
        ("", "GSM-7", 0),
    ],
)
def test_segment_counting(text, encoding, segments):
    info = segment_info(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_one_accent_turns_160_characters_into_three_segments():
    text = "Atención" + "a" * 152
    assert segment_info(text).segments == 3
    assert segment_info(transliterate(text)).segments == 1


def test_transliteration_keeps_gsm_letters_and_replaces_the_rest():
    assert transliterate("María Ñandú “Güemes” — 1º") == 'Maria Ñandu "Güemes" - 1o'
    assert transliterate("Hola 👋") == "Hola ?"


def test_every_default_text_fits_one_segment_with_typical_data():
    context = {
        "nombre": "Lucia",
        "escuela": "Escuela Jose M. Paz",
        "direccion": "Bv. San Juan 1030",
        "mesa": 1234,
        "rol": "de mesa 1234",
        "dia": "Dom 24/10",
        "hora": "7:30",
        "estado": "Notificada",
        "texto": "Traigan el DNI.",
        "link": "https://fz.ar/" + "x" * 22,
    }
    for kind, body in DEFAULT_TEXTS.items():
        rendered = render(str(body), context)
        assert rendered.encoding == "GSM-7", kind
        assert rendered.segments == 1, (kind, len(rendered.body), rendered.body)


def test_a_school_name_is_abbreviated_only_when_that_saves_a_segment_and_never_cut():
    body = "Fiscaliza: {nombre}, vas a {escuela}, {direccion}. Responde SI o NO. {link}"
    short = {"nombre": "Ana", "escuela": "ESCUELA NORMAL SUPERIOR", "direccion": "Av. Colon 1234", "link": "x" * 20}
    # fits as it is: the official name, untouched
    assert "ESCUELA NORMAL SUPERIOR" in render(body, short).body
    # one segment only with the field's abbreviations: they are used, and every word is kept
    long = {**short, "escuela": "ESCUELA PROVINCIAL NORMAL SUPERIOR N 3 DOMINGO FAUSTINO SARMIENTO", "link": "x" * 44}
    fitted = render(body, long)
    assert fitted.segments == 1, len(fitted.body)
    assert "ESC PROV NORMAL SUP N 3 DOMINGO FAUSTINO SARMIENTO" in fitted.body
    # not even that fits: two segments with the official name whole, nothing cut
    hopeless = render(body, {**long, "link": "x" * 120})
    assert hopeless.segments == 2
    assert "ESCUELA PROVINCIAL NORMAL SUPERIOR N 3 DOMINGO FAUSTINO SARMIENTO, Av. Colon 1234." in hopeless.body


def test_a_missing_address_leaves_no_dangling_comma():
    body = str(DEFAULT_TEXTS["assignment"])
    context = {"nombre": "Ana", "rol": "de mesa 2425", "escuela": "ESC DR IGNACIO DUARTE QUIROS", "direccion": ""}
    context |= {"dia": "Dom 24/10", "hora": "7:30", "link": "https://fz.ar/" + "x" * 22}
    text = render(body, context).body
    assert "ESC DR IGNACIO DUARTE QUIROS. Dom 24/10 7:30." in text
    assert ", ." not in text and " ." not in text


def test_local_bucket_spaces_reservations_at_the_rate():
    bucket = LocalBucket()
    waits = [bucket.reserve(10.0, 1.0) for _ in range(5)]
    # the first token is free; each next one is due 1/rate later than the previous
    assert waits[0] == 0
    for earlier, later in itertools.pairwise(waits[1:]):
        assert later == pytest.approx(earlier + 0.1, abs=0.02)


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server at REDIS_URL")
def test_redis_bucket_is_shared_between_workers():
    import uuid

    from sms.ratelimit import RedisBucket

    key = f"test:bucket:{uuid.uuid4().hex}"
    worker_a = RedisBucket(os.environ["REDIS_URL"], key)
    worker_b = RedisBucket(os.environ["REDIS_URL"], key)
    # one token a second: the time between the calls (a loaded machine) is small beside the intervals
    waits = [bucket.reserve(1.0, 1.0) for bucket in (worker_a, worker_b, worker_a, worker_b)]
    assert waits[0] == 0
    # two workers share one bucket: the fourth reservation is three intervals out
    assert waits[3] == pytest.approx(3.0, abs=0.5)


@pytest.mark.django_db
def test_an_edited_template_is_used_at_once():
    from backend.messaging.models import MessageTemplate
    from backend.messaging.texts import template_get

    # given
    assert template_get("help")[0].startswith("Fiscaliza: responde MESA")
    # when
    MessageTemplate.objects.create(kind="help", body="Fiscaliza: escribi MESA o SI.", transliterate=False)
    # then
    assert template_get("help") == ("Fiscaliza: escribi MESA o SI.", False)
