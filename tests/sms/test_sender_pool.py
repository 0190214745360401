"""The sender pool: parsing, sticky spreading, segments per sender, and the send time the preview tells."""

import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from backend.core.exceptions import ApplicationError
from backend.messaging.broadcasts import broadcast_approve, broadcast_create, broadcast_preview, broadcast_send
from backend.messaging.models import OutboundMessage
from backend.messaging.senders import PoolError, pool_parse, sender_pool
from sms import ratelimit
from sms.ratelimit import LocalBucket, RedisBucket
from sms.services import outbound_drain

from ..factories import VolunteerFactory

ROOT = Path(__file__).resolve().parents[2]
TWO_LONG_CODES = "+5493510000001:long_code,+5493510000002:long_code"


# --- Parsing -------------------------------------------------------------------------------------


def test_a_pool_of_numbers_with_their_types_and_an_override():
    pool = pool_parse("+5493510000001:long_code, +18005550100:toll_free, 55500:short_code:80", backend="twilio")
    assert [(s.name, s.kind, s.rate) for s in pool.senders] == [
        ("+5493510000001", "long_code", 1.0),
        ("+18005550100", "toll_free", 3.0),
        ("55500", "short_code", 80.0),
    ]
    assert pool.capacity == 84.0
    assert [lane.from_number for lane in pool.lanes] == ["+5493510000001", "+18005550100", "55500"]


def test_a_messaging_service_is_one_lane_at_the_declared_composition():
    pool = pool_parse("long_code*5,toll_free*2", service_sid="MG" + "0" * 32, backend="twilio")
    assert len(pool.senders) == 7 and pool.capacity == 11.0
    assert len(pool.lanes) == 1 and pool.lanes[0].from_number is None and pool.lanes[0].rate == 11.0


def test_defaults_twilio_from_alone_and_the_local_simulation():
    assert pool_parse("", from_number="+18885550100", backend="twilio").senders[0].kind == "toll_free"
    assert pool_parse("", from_number="+5493510000001", backend="twilio").capacity == 1.0
    local = pool_parse("", backend="local")
    assert local.simulated and local.capacity == 1.0
    assert pool_parse("long_code*5", backend="local").capacity == 5.0


@pytest.mark.parametrize(
    ("spec", "kwargs", "says"),
    [
        ("+5493510000001:landline", {}, "unknown sender type 'landline'"),
        ("+5493510000001", {}, "say the number's type"),
        ("3510000001:long_code", {}, "is not a phone number"),
        ("+5493510000001:long_code:fast", {}, "'fast' is not a number"),
        ("+5493510000001:long_code:0", {}, "more than 0"),
        ("+5493510000001:long_code,,+5493510000002:long_code", {}, "empty entry"),
        ("+5493510000001:long_code,+5493510000001:toll_free", {}, "listed twice"),
        ("long_code*5", {"backend": "twilio"}, "need TWILIO_MESSAGING_SERVICE_SID"),
        ("", {"backend": "twilio", "service_sid": "MG1"}, "declare the service's numbers"),
        ("", {"backend": "twilio"}, "needs SMS_SENDERS"),
        ("a:b:c:d", {}, "expected NUMBER:TYPE"),
    ],
)
def test_a_malformed_pool_says_which_entry_and_why(spec, kwargs, says):
    with pytest.raises(PoolError, match=says.replace("(", r"\(").replace("*", r"\*")):
        pool_parse(spec, **kwargs)


def test_a_malformed_pool_stops_the_start_up_with_a_clear_error():
    env = {**os.environ, "SMS_SENDERS": "+5493510000001:long_code,+5493510000002:carrier_pigeon"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SMS sender pool" in result.stderr and "carrier_pigeon" in result.stderr


# --- Spreading and pacing ------------------------------------------------------------------------


def test_each_recipient_sticks_to_one_number_and_shares_follow_the_rates():
    pool = pool_parse("+5493510000001:long_code,+18005550100:toll_free", backend="twilio")
    phones = [f"+54911{40_000_000 + i:08d}" for i in range(8000)]
    first = [pool.lane_for(p).key for p in phones]
    assert first == [pool.lane_for(p).key for p in phones]  # the same number every time
    shares = Counter(first)
    # the toll-free number sends 3 segments/s to the long code's 1: three quarters of the people
    assert shares["+18005550100"] / len(phones) == pytest.approx(0.75, abs=0.02)


def test_a_bucket_counts_segments_not_messages():
    bucket = LocalBucket()
    # 1 segment per second, one segment of burst: three two-segment messages
    waits = [bucket.reserve(1.0, 1.0, 2.0) for _ in range(3)]
    assert waits == [pytest.approx(1.0, abs=0.05), pytest.approx(3.0, abs=0.05), pytest.approx(5.0, abs=0.05)]


def test_each_sender_has_its_own_bucket(settings):
    settings.SMS_SENDERS = TWO_LONG_CODES
    settings.REDIS_URL = ""
    settings.SMS_RATE_LIMIT_KEY = f"test:{uuid.uuid4().hex}"
    first, second = sender_pool().lanes
    assert ratelimit.reserve(lane=first, segments=3) == pytest.approx(2.0, abs=0.05)
    # the other number has not sent anything: no wait, whatever the first one owes
    assert ratelimit.reserve(lane=second, segments=1) == 0
    assert ratelimit.reserve(lane=first, segments=1) == pytest.approx(3.0, abs=0.05)


@pytest.mark.django_db
def test_the_drain_sends_each_message_from_its_recipients_number(twilio_backend, settings):
    # given: two numbers and six recipients, two messages each
    settings.SMS_SENDERS = TWO_LONG_CODES
    pool = sender_pool()
    phones = [f"+54911{50_000_000 + i:08d}" for i in range(6)]
    OutboundMessage.objects.bulk_create(
        OutboundMessage(to=to, body=f"Hola {n}", kind="instruction", segments=1, sender=pool.lane_for(to).key)
        for n in range(2)
        for to in phones
    )
    # when: one drain per number, as the broadcast starts them
    for lane in pool.lanes:
        outbound_drain(sender=lane.key)
    # then: every message left, each recipient always from the number the pool gave them
    assert len(twilio_backend.requests) == 12
    for to in phones:
        assert {r["From"] for r in twilio_backend.posts_to(to)} == {pool.lane_for(to).from_number}


@pytest.mark.django_db
def test_rows_of_a_sender_that_left_the_pool_are_still_sent(twilio_backend, settings):
    # given: rows queued for a number no longer in the pool, and rows from before the pool existed
    settings.SMS_SENDERS = TWO_LONG_CODES
    OutboundMessage.objects.create(to="+5491150000001", body="a", kind="instruction", sender="+5493519999999")
    OutboundMessage.objects.create(to="+5491150000002", body="b", kind="instruction", sender="")
    # when: the drains of the pool's numbers run
    for lane in sender_pool().lanes:
        outbound_drain(sender=lane.key)
    # then: both left, from the number the pool gives their recipients now
    assert not OutboundMessage.objects.filter(status="queued").exists()
    assert {r["From"] for r in twilio_backend.requests} <= {"+5493510000001", "+5493510000002"}


# --- The preview's time and the 10-hour rule -----------------------------------------------------


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


# GSM-7: one segment; with an "Á" in the name the whole text is UCS-2: two segments (over 70 characters).
MIXED_BODY = "Hola {nombre}: manana a las 7:30 en la escuela con el DNI, la credencial y una lapicera azul."


@pytest.fixture
def mixed_audience(geo):
    for name in ("Ana", "Lucas", "Ágata"):
        VolunteerFactory(first_name=name, area=geo.north_town)
    return geo


@pytest.mark.django_db
def test_preview_time_is_the_pools_for_mixed_encodings_behind_the_queue(mixed_audience, lead, settings):
    # given: two long codes (2 segments/s) and 4 segments already queued
    settings.SMS_SENDERS = TWO_LONG_CODES
    OutboundMessage.objects.create(to="+5491100000000", body="x", kind="instruction", segments=4)
    # when
    response = _api(lead).post(
        "/api/sms/broadcasts/preview/",
        {"election": mixed_audience.election.pk, "body": MIXED_BODY, "transliterate": False},
        format="json",
    )
    # then: 1 + 1 + 2 segments (not 3 x 2), after the 4 queued: 8 segments at 2/s
    data = response.json()
    assert response.status_code == 200, data
    assert data["segments_per_message"] == 2 and data["encoding"] == "UCS-2"
    assert data["total_segments"] == 4 and data["queued_ahead_segments"] == 4
    assert data["pool_capacity"] == 2.0 and data["estimated_seconds"] == 4
    assert data["exceeds_queue_limit"] is False


@pytest.mark.django_db
def test_the_console_preview_shows_the_pools_time_and_the_refusal(mixed_audience, lead, settings, client):
    # given: five simulated long codes, and a limit the UCS-2 text passes (4 segments at 5/s: 1 s)
    settings.SMS_SENDERS = "long_code*5"
    client.force_login(lead)
    page = client.post(reverse("console:instruction_preview"), {"body": MIXED_BODY})
    assert page.context["preview"].pool == "5 long_code (5 segm/s)"
    assert "5 long_code (5 segm/s)" in page.content.decode()
    # when the limit is shorter than the send
    settings.SMS_QUEUE_MAX_HOURS = 0.5 / 3600
    refused = client.post(reverse("console:instruction_preview"), {"body": MIXED_BODY})
    # then the page says it would not fit and how to split it
    assert refused.context["preview"].exceeds_queue_limit
    assert "tandas" in refused.content.decode()


@pytest.mark.django_db
def test_a_send_past_twilios_queue_is_refused_with_waves_that_fit(mixed_audience, lead, settings):
    # given: one long code and a 3-second queue limit: 4 segments take 4 s
    settings.SMS_QUEUE_MAX_HOURS = 3 / 3600
    election = mixed_audience.election
    # when
    preview = broadcast_preview(user=lead, election=election, body=MIXED_BODY, segment={}, transliterate=False)
    with pytest.raises(ApplicationError) as refused:
        broadcast_create(actor=lead, election=election, body=MIXED_BODY, segment={}, transliterate=False)
    # then: the preview says so and create refuses, offering two waves of about 2 people (4/3 segments each)
    assert preview.exceeds_queue_limit and any("tandas" in w for w in preview.warnings)
    assert refused.value.code == "queue_limit"
    assert refused.value.extra == {"estimated_seconds": 4, "limit_seconds": 3, "waves": 2, "wave_recipients": 2}
    # the API's create says the same, with the figures
    response = _api(lead).post(
        "/api/sms/broadcasts/",
        {"election": election.pk, "body": MIXED_BODY, "transliterate": False},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "queue_limit"
    assert response.json()["detail"]["waves"] == 2 and "2 tandas" in response.json()["message"]
    # transliterated, the same people fit: 3 segments in 3 s
    assert broadcast_create(actor=lead, election=election, body=MIXED_BODY, segment={}).recipient_count == 3


@pytest.mark.django_db
def test_approval_and_send_enforce_the_same_rule_with_the_queue_of_now(mixed_audience, lead, settings):
    # given: a broadcast that fitted when it was created (3 segments, limit 5 s) and needs approval
    settings.SMS_QUEUE_MAX_HOURS = 5 / 3600
    settings.SMS_BROADCAST_APPROVAL_THRESHOLD = 1
    election = mixed_audience.election
    pending = broadcast_create(actor=lead, election=election, body=MIXED_BODY, segment={})
    assert pending.status == "pending_approval" and pending.segments_total == 3
    # when: other sends queued 3 segments meanwhile
    OutboundMessage.objects.create(to="+5491100000000", body="x", kind="instruction", segments=3)
    # then: the lead cannot approve it now
    with pytest.raises(ApplicationError) as refused:
        broadcast_approve(actor=lead, broadcast=pending)
    assert refused.value.code == "queue_limit"
    # once the queue drained, approval goes; a send that finds the queue full again is refused too
    OutboundMessage.objects.update(status="delivered")
    approved = broadcast_approve(actor=lead, broadcast=pending)
    OutboundMessage.objects.create(to="+5491100000001", body="x", kind="instruction", segments=3)
    with pytest.raises(ApplicationError) as at_send:
        broadcast_send(actor=lead, broadcast=approved)
    assert at_send.value.code == "queue_limit"


# --- Shared by workers ---------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a Redis server at REDIS_URL")
def test_two_workers_share_each_senders_segment_bucket_in_redis():
    # given: two workers (two connections) and two numbers' buckets
    url = os.environ["REDIS_URL"]
    first, second = f"test:pool:{uuid.uuid4().hex}:a", f"test:pool:{uuid.uuid4().hex}:b"
    worker_a, worker_b = RedisBucket(url, first), RedisBucket(url, first)
    other_number = RedisBucket(url, second)
    # when: both send two-segment messages from the first number, at 1 segment every 10 s (slow, so the
    # time between the calls, even on a loaded machine, is small beside the reservations)
    waits = [bucket.reserve(0.1, 1.0, 2.0) for bucket in (worker_a, worker_b, worker_a)]
    # then: one bucket counts both workers' segments; the other number is untouched
    assert waits == [pytest.approx(10, abs=1), pytest.approx(30, abs=1), pytest.approx(50, abs=1)]
    assert other_number.reserve(0.1, 1.0, 1.0) == 0
