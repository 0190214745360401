"""The fuzzing suite: generated spreadsheets, signed SMS webhooks and API payloads, in process.

Properties: never a 5xx or an unhandled exception, every refusal a specific code with a message,
never a row written for a refused input. The default run is bounded (FUZZ_EXAMPLES per test,
25 by default, derandomised so CI is repeatable); a nightly run sets FUZZ_EXAMPLES=2000 and
FUZZ_SEED=random to explore. WebSocket frames against a real server are in test_fuzz_websocket.py;
peak memory of the worst shapes is measured in a subprocess by test_memory.py.
"""

from __future__ import annotations

import codecs
import functools
import io
import json
import os
import re
import uuid
import zipfile
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from twilio.request_validator import RequestValidator

from backend.assignments.services import assignment_create
from backend.core.exceptions import ApplicationError
from backend.core.spreadsheets import HeaderError, SpreadsheetError
from backend.core.text import TextError
from backend.imports.models import BatchStatus, ImportBatch
from backend.imports.services import batch_report
from backend.messaging.models import InboundMessage, OutboundMessage
from backend.volunteers.models import Volunteer
from tests.factories import VolunteerFactory
from tests.imports.conftest import ROSTER_HEADER, run_roster

from .hostile_files import ods_rows, shared_string_trick, xls_raw, xls_rows, xlsx_cell, xlsx_raw, xlsx_rows

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
RANDOM = os.environ.get("FUZZ_SEED", "") == "random"
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

READER_CODES = {str(c) for c in (*SpreadsheetError, *HeaderError, *TextError)}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- spreadsheets -------------------------------------------------------------------------------

# Any character a file can carry: controls, NUL, private use, astral planes (lone surrogates cannot be encoded).
any_char = st.characters(exclude_categories=["Cs"])
cell_text = st.one_of(
    st.text(any_char, max_size=40),
    st.sampled_from(["30.123.456", "351 15 412 3456", '=HYPERLINK("x")', "+54 9 351", "@SUM(1)", "josé@correo.ar"]),
    st.builds(lambda ch, n: ch * n, any_char, st.sampled_from([0, 1, 32_767, 32_768, 131_073])),
)
cell_value = st.one_of(
    st.none(),
    cell_text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
header = st.one_of(st.just(ROSTER_HEADER), st.lists(cell_text, max_size=6))
rows = st.builds(lambda h, body: [h, *body], header, st.lists(st.lists(cell_value, max_size=8), max_size=6))


def _csv(table: list[list], delimiter: str, encoding: str) -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows([["" if v is None else v for v in row] for row in table])
    return buffer.getvalue().encode(encoding, errors="replace")


def _truncated(data: bytes, cut: float) -> bytes:
    return data[: max(1, int(len(data) * cut))]


def _xls_like(payload: bytes) -> bytes:
    # An OLE container header followed by anything: what a damaged or forged .xls looks like.
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + payload


def _odd_xlsx(table: list[list], prefix: str) -> bytes:
    """The same cells with a namespace prefix and no r= attributes (the slow, exact scan)."""
    data = xlsx_rows(table)
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item)
            if item.filename.endswith("sheet1.xml"):
                text = content.decode()
                text = text.replace("<worksheet xmlns=", f"<{prefix}:worksheet xmlns:{prefix}=").replace(
                    "</worksheet>", f"</{prefix}:worksheet>"
                )
                for tag in ("sheetData", "row", "c", "is", "t", "v"):
                    text = text.replace(f"<{tag}>", f"<{prefix}:{tag}>").replace(f"<{tag} ", f"<{prefix}:{tag} ")
                    text = text.replace(f"</{tag}>", f"</{prefix}:{tag}>")
                content = re.sub(r' r="[A-Z]+\d+"', "", text).encode()
            archive.writestr(item, content)
    return buffer.getvalue()


spreadsheets = st.one_of(
    st.builds(
        lambda t, d, e: ("fiscales.csv", _csv(t, d, e)),
        rows,
        st.sampled_from([";", ",", "\t", "|"]),
        st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    ),
    st.builds(lambda t: ("fiscales.xlsx", xlsx_rows(t)), rows),
    st.builds(lambda t, p: ("fiscales.xlsx", _odd_xlsx(t, p)), rows, st.sampled_from(["x", "ss"])),
    st.builds(lambda t: ("fiscales.ods", ods_rows(t)), rows),
    st.builds(lambda t: ("fiscales.xls", xls_rows(t)), rows),
    st.builds(
        lambda n, cells: ("trampa.xls", xls_raw([(row, 0, ("s", 0)) for row in range(cells)], ["x" * n])),
        st.integers(0, 40_000),
        st.integers(1, 300),
    ),
    st.builds(
        lambda n, cells: ("trampa.xlsx", shared_string_trick(length=n, cells=cells)),
        st.integers(0, 40_000),
        st.integers(1, 300),
    ),
    st.builds(
        lambda row, col: ("disperso.xlsx", xlsx_raw({1: xlsx_cell(1, 1, "DNI"), row: xlsx_cell(row, col, 1)}, [])),
        st.integers(2, 1_048_576),
        st.integers(1, 16_384),
    ),
    st.builds(lambda t, cut: ("cortado.xlsx", _truncated(xlsx_rows(t), cut)), rows, st.floats(0.05, 0.95)),
    st.builds(lambda b: ("viejo.xls", _xls_like(b)), st.binary(max_size=2048)),
    st.builds(lambda b: ("cualquiera.xlsx", b), st.binary(max_size=2048)),
    st.builds(lambda b: ("cualquiera.csv", codecs.BOM_UTF16_LE + b), st.binary(max_size=512)),
)


@fuzz
@given(upload=spreadsheets, dry_run=st.booleans())
def test_no_spreadsheet_crashes_the_import_or_writes_for_a_refused_file(geo, upload, dry_run):
    # given a clean slate for this example
    Volunteer.objects.all().delete()
    ImportBatch.objects.all().delete()
    name, data = upload

    # when
    try:
        batch = run_roster(geo.election, data, name=name, dry_run=dry_run)
    except ApplicationError as exc:
        # then: a refusal has a stable code and a message, and wrote nothing but a failed batch with its reason
        assert exc.code in READER_CODES, exc.code
        assert str(exc.message)
        assert not Volunteer.objects.exists()
        for failed in ImportBatch.objects.all():
            assert failed.status == BatchStatus.FAILED and failed.error_code == exc.code and failed.error_message
        return
    # then: an accepted file has its report, and the report (an xlsx) holds whatever the file held
    assert batch.status in (BatchStatus.PREVIEWED, BatchStatus.APPLIED)
    batch_report(batch=batch)
    for volunteer in Volunteer.objects.all():
        for value in (volunteer.first_name, volunteer.last_name, volunteer.email, volunteer.notes, volunteer.address):
            assert "\x00" not in value and value.isprintable(), repr(value)


# --- SMS webhooks ---------------------------------------------------------------------------------


def _signed_post(client, settings, path: str, params: dict):
    url = settings.PUBLIC_BASE_URL + path
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


sms_text = st.one_of(
    st.text(any_char, max_size=200),
    st.sampled_from(["SI", "no", "BAJA", "ALTA", "MESA", "LLEGUE", "AYUDA", "stop", "¿Dónde voto?"]),
    st.builds(lambda ch, n: ch * n, any_char, st.sampled_from([1600, 5000])),
)


@fuzz
@given(
    body=sms_text,
    known=st.booleans(),
    sender=st.text(any_char, max_size=30),
    extra=st.dictionaries(st.text("abcdefXYZ_", min_size=1, max_size=8), st.text(any_char, max_size=50), max_size=3),
)
def test_no_signed_sms_makes_the_webhook_fail(client, settings, geo, body, known, sender, extra):
    volunteer = Volunteer.objects.filter(phone="+5493514000001").first() or VolunteerFactory(phone="+5493514000001")
    if not volunteer.assignments.exists():
        assignment_create(
            volunteer=volunteer, place=geo.north_place, table=geo.north_tables[0], role="table", source="web"
        )
    params = {**extra, "MessageSid": f"SM{uuid.uuid4().hex}", "From": volunteer.phone if known else sender}
    params.update({"To": "+15005550006", "Body": body, "NumMedia": "0"})

    response = _signed_post(client, settings, "/sms/inbound/", params)

    assert response.status_code == 200, response.content[:300]
    stored = InboundMessage.objects.get(sid=params["MessageSid"])
    assert "\x00" not in stored.body and "\x00" not in json.dumps(stored.params)


@fuzz
@given(
    sid=st.one_of(st.just("known"), st.text(any_char, max_size=40)),
    status=st.one_of(st.sampled_from(["queued", "sent", "delivered", "undelivered", "failed", "read"]), sms_text),
    error_code=st.one_of(st.none(), st.text(any_char, max_size=12), st.integers(-(10**30), 10**30).map(str)),
    message_id=st.one_of(st.none(), st.text(any_char, max_size=12), st.integers(-(10**30), 10**30).map(str)),
)
def test_no_signed_status_callback_makes_the_webhook_fail(client, settings, geo, sid, status, error_code, message_id):
    volunteer = Volunteer.objects.filter(phone="+5493514000002").first() or VolunteerFactory(phone="+5493514000002")
    message = OutboundMessage.objects.filter(volunteer=volunteer).first() or OutboundMessage.objects.create(
        volunteer=volunteer, to=volunteer.phone, body="hola", kind="instruction", status="sent", sid="SMknown"
    )
    params = {"MessageSid": message.sid if sid == "known" else sid, "MessageStatus": status}
    if error_code is not None:
        params["ErrorCode"] = error_code
    path = "/sms/status/" + (f"?{urlencode({'m': message_id})}" if message_id is not None else "")

    response = _signed_post(client, settings, path, params)

    assert response.status_code < 500, response.content[:300]


# --- API payloads per operation -----------------------------------------------------------------

hostile_value = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(st.characters(), max_size=40),  # lone surrogates too: json.dumps escapes them
        st.builds(lambda ch, n: ch * n, any_char, st.sampled_from([10_000, 70_000])),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@functools.cache
def _operations() -> list[tuple[str, str, list[str]]]:
    """(method, path template, request body field names) of every write operation in the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            ref = next(iter(content.values()), {}).get("schema", {}).get("$ref", "")
            fields = list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            found.append((method, path, fields))
    return sorted(found)


@pytest.fixture
def lead_client(geo, lead):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=lead).key}")
    return client


@fuzz
@given(data=st.data())
def test_no_payload_makes_an_api_operation_answer_5xx(lead_client, geo, data):
    # given: every write operation, its own field names filled with hostile values, or a hostile body
    method, template, fields = data.draw(st.sampled_from(_operations()), label="operation")
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        number = data.draw(st.sampled_from([geo.north_place.pk, 1, 2**31, 2**63 + 1, 10**30]), label="id")
        path = path[:start] + str(number) + path[end + 1 :]
    kind = data.draw(st.sampled_from(["fields", "deep", "raw"]), label="kind")
    if kind == "fields":
        payload = data.draw(st.fixed_dictionaries({}, optional={f: hostile_value for f in fields}), label="payload")
        body = json.dumps(payload)
    elif kind == "deep":
        depth = data.draw(st.integers(900, 50_000), label="depth")
        body = "[" * depth + "]" * depth
    else:
        body = data.draw(st.text(any_char, max_size=200), label="raw")

    # when
    response = getattr(lead_client, method)(path, body, content_type="application/json")

    # then
    assert response.status_code < 500, (method, path, kind, response.content[:300])
