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
        "link": "https://fz.ar/a/" + "x" * 32,
    }
    for kind, body in DEFAULT_TEXTS.items():
        rendered = render(str(body), context)
        assert rendered.encoding == "GSM-7", kind
        assert rendered.segments == 1, (kind, len(rendered.body), rendered.body)


def test_long_fields_are_shortened_only_when_that_reaches_one_segment():
    body = "Fiscaliza: {nombre}, vas a {escuela}, {direccion}. Responde SI o NO."
    long_place = {"nombre": "Ana", "escuela": "Escuela Normal Superior " * 4, "direccion": "Av. Colon 1234"}
    fitted = render(body, long_place)
    assert fitted.segments == 1 and fitted.body.endswith("Responde SI o NO.")
    hopeless = render(body + " {link}", {**long_place, "link": "x" * 150})
    assert hopeless.segments == 2 and "Escuela Normal Superior Escuela" in hopeless.body


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
    waits = [bucket.reserve(10.0, 1.0) for bucket in (worker_a, worker_b, worker_a, worker_b)]
    assert waits[0] == 0
    # two workers share one bucket: the fourth reservation is three intervals out
    assert waits[3] == pytest.approx(0.3, abs=0.05)


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
