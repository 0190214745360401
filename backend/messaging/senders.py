"""The pool of numbers SMS leave from, and how many segments per second it really sends.

Twilio sends 1 segment per second per long-code number, 3 per toll-free number and about 100 per
short code, whatever rate the API accepts requests at; what waits more than ~10 hours in its queue
is dropped. So the time a broadcast takes is its segments divided by the pool's capacity.

SMS_SENDERS declares the pool, entries separated by commas:

    +5493510000001:long_code            a number and its type
    +18005550100:toll_free:2            ... with its own segments/second (overrides the type's)
    long_code*5                         five numbers of a Messaging Service (or simulated ones)

With TWILIO_MESSAGING_SERVICE_SID the entries declare the service's composition (Twilio picks the
number, so the limiter paces the whole service as one lane at the pool's capacity); without it,
every entry must be a number and each number is its own lane. Without SMS_SENDERS: TWILIO_FROM
alone is a one-number pool (its type guessed from the number); the local backend simulates one
long code.

Pure functions of the settings (no models): settings.py validates the pool at start-up with them.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

# Segments per second Twilio sends from one sender of each type.
TYPE_RATES = {"long_code": 1.0, "toll_free": 3.0, "short_code": 100.0}
# North American toll-free area codes: a +1 number with one of these is a toll-free sender.
TOLL_FREE_AREA_CODES = ("800", "833", "844", "855", "866", "877", "888")
_NUMBER = re.compile(r"^(\+[1-9]\d{7,14}|\d{3,8})$")
_ANONYMOUS = re.compile(r"^([a-z_]+)\*(\d+)$")


class PoolError(ValueError):
    """A malformed SMS_SENDERS: says which entry and why."""


@dataclass(frozen=True)
class Sender:
    name: str  # the number, or "long_code-3" for an unnamed one of a service or a simulation
    kind: str
    rate: float  # segments per second
    number: str | None = None


@dataclass(frozen=True)
class Lane:
    """What the limiter paces: one number, or a whole Messaging Service."""

    key: str
    rate: float
    from_number: str | None  # None: Twilio picks from the Messaging Service


@dataclass(frozen=True)
class Pool:
    senders: tuple[Sender, ...]
    service_sid: str = ""
    simulated: bool = False

    @property
    def capacity(self) -> float:
        """Segments per second the whole pool sends."""
        return sum(s.rate for s in self.senders)

    @property
    def lanes(self) -> tuple[Lane, ...]:
        if self.service_sid:
            return (Lane(key=f"service:{self.service_sid}", rate=self.capacity, from_number=None),)
        return tuple(Lane(key=s.name, rate=s.rate, from_number=s.number) for s in self.senders)

    def lane(self, key: str) -> Lane | None:
        return next((lane for lane in self.lanes if lane.key == key), None)

    def lane_for(self, to: str) -> Lane:
        """The lane a recipient's messages leave from: always the same one while the pool is the same.

        Weighted rendezvous hashing: each lane gets a share of recipients proportional to its rate
        (a toll-free number three times a long code's), and a change of pool moves only the
        recipients of the lanes that changed. A conversation stays on one number.
        """
        lanes = self.lanes
        if len(lanes) == 1:
            return lanes[0]
        return min(lanes, key=lambda lane: _rendezvous_score(lane, to))

    def describe(self) -> str:
        """ "5 long_code (5 segm/s)": the pool in a line, for previews and logs."""
        counts: dict[str, int] = {}
        for sender in self.senders:
            counts[sender.kind] = counts.get(sender.kind, 0) + 1
        kinds = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return f"{kinds} ({self.capacity:g} segm/s)"


def _rendezvous_score(lane: Lane, to: str) -> float:
    digest = hashlib.blake2b(f"{lane.key}|{to}".encode(), digest_size=8).digest()
    uniform = (int.from_bytes(digest, "big") + 1) / (2**64 + 1)  # in (0, 1)
    return -math.log(uniform) / lane.rate


def guess_kind(number: str) -> str:
    if not number.startswith("+"):
        return "short_code"
    if number.startswith("+1") and number[2:5] in TOLL_FREE_AREA_CODES:
        return "toll_free"
    return "long_code"


def _rate(kind: str, text: str, entry: str) -> float:
    if kind not in TYPE_RATES:
        raise PoolError(f"{entry!r}: unknown sender type {kind!r}; use one of {', '.join(TYPE_RATES)}.")
    if not text:
        return TYPE_RATES[kind]
    try:
        rate = float(text)
    except ValueError:
        raise PoolError(f"{entry!r}: the rate {text!r} is not a number of segments per second.") from None
    if not math.isfinite(rate) or rate <= 0:
        raise PoolError(f"{entry!r}: the rate must be more than 0 segments per second.")
    return rate


def pool_parse(spec: str, *, service_sid: str = "", from_number: str = "", backend: str = "local") -> Pool:
    """The pool the settings declare, or PoolError saying what is wrong with which entry."""
    senders: list[Sender] = []
    entries = [entry.strip() for entry in spec.split(",")] if spec.strip() else []
    for entry in entries:
        if not entry:
            raise PoolError("an empty entry (two commas in a row, or a trailing comma).")
        parts = entry.split(":")
        if len(parts) > 3:
            raise PoolError(f"{entry!r}: expected NUMBER:TYPE[:SEGMENTS_PER_SECOND] or TYPE*COUNT[:RATE].")
        anonymous = _ANONYMOUS.match(parts[0])
        if anonymous:
            if len(parts) > 2:
                raise PoolError(f"{entry!r}: expected TYPE*COUNT[:SEGMENTS_PER_SECOND].")
            kind, count = anonymous.group(1), int(anonymous.group(2))
            rate = _rate(kind, parts[1] if len(parts) > 1 else "", entry)
            if count < 1:
                raise PoolError(f"{entry!r}: the count must be at least 1.")
            start = sum(1 for s in senders if s.kind == kind)
            senders.extend(Sender(name=f"{kind}-{start + i + 1}", kind=kind, rate=rate) for i in range(count))
            continue
        number = parts[0]
        if not _NUMBER.match(number):
            raise PoolError(f"{entry!r}: {number!r} is not a phone number (+ and 8-15 digits) or a short code.")
        if len(parts) < 2 or not parts[1]:
            raise PoolError(f"{entry!r}: say the number's type ({', '.join(TYPE_RATES)}).")
        kind = parts[1]
        rate = _rate(kind, parts[2] if len(parts) > 2 else "", entry)
        if any(s.number == number for s in senders):
            raise PoolError(f"{entry!r}: {number} is listed twice.")
        senders.append(Sender(name=number, kind=kind, rate=rate, number=number))
    if not senders:
        if service_sid and backend == "twilio":
            raise PoolError(
                "TWILIO_MESSAGING_SERVICE_SID is set: declare the service's numbers in SMS_SENDERS "
                "(e.g. long_code*5 or +5493510000001:long_code) so sending time can be told."
            )
        if from_number:
            if not _NUMBER.match(from_number):
                raise PoolError(f"TWILIO_FROM {from_number!r} is not a phone number or a short code.")
            kind = guess_kind(from_number)
            senders.append(Sender(name=from_number, kind=kind, rate=TYPE_RATES[kind], number=from_number))
        elif backend == "twilio":
            raise PoolError("SMS_BACKEND=twilio needs SMS_SENDERS, TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID.")
        else:
            return Pool(senders=(Sender(name="long_code-1", kind="long_code", rate=1.0),), simulated=True)
    unnamed = [s.name for s in senders if s.number is None]
    if unnamed and not service_sid and backend == "twilio":
        raise PoolError(
            f"{unnamed[0]}: numbers without a number (TYPE*COUNT) need TWILIO_MESSAGING_SERVICE_SID; "
            "without a service, list each number (+5493510000001:long_code)."
        )
    return Pool(senders=tuple(senders), service_sid=service_sid if backend == "twilio" else "", simulated=bool(unnamed))


@lru_cache(maxsize=8)
def _pool_cached(spec: str, service_sid: str, from_number: str, backend: str) -> Pool:
    return pool_parse(spec, service_sid=service_sid, from_number=from_number, backend=backend)


def sender_pool() -> Pool:
    """The configured pool (validated at start-up, so this does not fail in a running process)."""
    return _pool_cached(
        settings.SMS_SENDERS, settings.TWILIO_MESSAGING_SERVICE_SID, settings.TWILIO_FROM, settings.SMS_BACKEND
    )


def delivery_seconds(segments: int, *, pool: Pool | None = None) -> float:
    """Seconds the pool needs to send `segments` (pool capacity, nothing else)."""
    pool = pool or sender_pool()
    return segments / pool.capacity
