"""What volunteers write, understood as a person means it: the corpus, per-intent accuracy, and the
webhook acting (or asking back) on natural replies."""

import collections

import pytest

from backend.assignments.models import AssignmentStatus
from backend.messaging.models import InboundMessage
from backend.threads.models import Message
from sms.replies import Intent, reply_understand
from tests.sms.webhook import inbound_params

from .reply_corpus import CORPUS


def test_the_corpus_holds_at_least_300_replies_of_every_kind():
    kinds = collections.Counter(intent for _text, intent in CORPUS)
    assert len(CORPUS) >= 300
    assert set(kinds) == {i.value for i in Intent} - {"empty"}
    assert len({text for text, _intent in CORPUS}) == len(CORPUS), "no reply twice"


def test_accuracy_per_intent_on_the_corpus(capsys):
    # when
    totals, right, wrong = collections.Counter(), collections.Counter(), []
    for text, expected in CORPUS:
        got = reply_understand(text).value
        totals[expected] += 1
        if got == expected:
            right[expected] += 1
        else:
            wrong.append((text, expected, got))
    # then: the figures are printed (pytest -s shows them) ...
    with capsys.disabled():
        print("\nreply understanding, accuracy per intent:")
        for intent in sorted(totals):
            print(f"  {intent:<9} {right[intent]:>4}/{totals[intent]:<4} {right[intent] / totals[intent]:.1%}")
        print(f"  {'all':<9} {sum(right.values()):>4}/{len(CORPUS):<4} {sum(right.values()) / len(CORPUS):.1%}")
    # ... and every intent is understood at least 95% of the time
    for intent, total in totals.items():
        assert right[intent] / total >= 0.95, (intent, [w for w in wrong if w[1] == intent])


def test_a_no_is_never_taken_for_a_yes():
    # not a single reply that is not a yes may confirm anyone
    taken_for_yes = [text for text, expected in CORPUS if expected != "yes" and reply_understand(text) == Intent.YES]
    assert taken_for_yes == []
    # and a negation in any position blocks a yes
    for text in ("no", "si no", "no, si", "sí, no", "ok no", "dale no", "no dale", "no ok", "👍 no", "voy? no"):
        assert reply_understand(text) != Intent.YES, text


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["Si voy", "Sí, voy!", "Confirmo", "ok", "dale", "si mesa 1", "👍"])
def test_a_natural_yes_confirms_and_is_not_posted_to_the_thread(signed_post, assigned, north_volunteer, answer):
    # when
    response = signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, answer))
    # then
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CONFIRMED
    assert "confirmaste" in response.content.decode()
    assert not Message.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["no puedo", "No voy", "no llego", "nop", "Lamentablemente no puedo ir"])
def test_a_natural_no_declines(signed_post, assigned, north_volunteer, answer):
    signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, answer))
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.DECLINED


@pytest.mark.django_db
@pytest.mark.parametrize("answer", ["creo que sí", "capaz", "si puedo voy", "no sé si voy", "si no llueve voy"])
def test_an_unclear_answer_is_asked_back_and_changes_nothing(signed_post, assigned, north_volunteer, answer):
    # when
    reply = signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, answer)).content.decode()
    # then: a question, no change, nothing in the school's thread
    assert "¿confirmás que vas" in reply.lower() or "confirmas que vas" in reply.lower()
    assert "Responde SI o NO" in reply
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.PROPOSED
    assert not Message.objects.exists()
    assert InboundMessage.objects.get().keyword == "unclear"


@pytest.mark.django_db
def test_arrival_and_where_in_their_own_words(signed_post, assigned, north_volunteer, geo, monkeypatch):
    from django.utils import timezone

    reply = signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "dónde me toca?")).content.decode()
    assert "Escuela Norte" in reply and "Calle 9 123" in reply
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: geo.election.date)
    signed_post("/sms/inbound/", inbound_params(north_volunteer.phone, "ya estoy en la escuela"))
    assigned.refresh_from_db()
    assert assigned.status == AssignmentStatus.CHECKED_IN
