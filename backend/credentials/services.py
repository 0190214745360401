"""Writes of the credentials app: the election's setup, issuing and revoking credentials, the PDFs.

Issuing is lazy and idempotent: printing a school (or one watcher) issues a credential for each
active assignment that has none for its current slot. Revoking is eager: every door that ends an
assignment (decline, replacement, cancellation, the auto-assigner's moves) calls
`credentials_revoke` inside its own transaction, so the QR reads "revocada" from that moment on.
"""

from __future__ import annotations

import io
import re
import secrets
import string
import zipfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from backend.accounts.models import Role
from backend.assignments.models import ACTIVE_STATUSES, Assignment
from backend.core.exceptions import ApplicationError, PermissionDenied
from backend.core.files import file_jobs_expire
from backend.core.jobs import task_queue
from backend.core.models import FileJobState
from backend.elections.models import Area, Election, PollingPlace
from backend.permissions import Action, require, role_of

from .documents import LAYOUTS, credentials_pdf
from .errors import CredentialErrorCode
from .models import WORDING_FIELDS, Credential, CredentialBatch, CredentialSetup, RevokeReason
from .selectors import (
    batch_places,
    credential_setup_get,
    credential_views,
    credentials_with_relations,
    print_order,
    signatory_of,
)

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 10  # 10 * log2(62) = 59 bits: nobody guesses a valid credential's link
SIGNATURE_MAX_BYTES = 2 * 1024 * 1024
SIGNATURE_MAX_SIDE = 900
BATCH_TASK = "backend.credentials.tasks.credentials_batch_task"
BATCH_CHUNK = 25  # schools per round of queries; the progress bar moves after each round


def token_new() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


# --- setup ------------------------------------------------------------------------------------


def wording_check(text: str, *, label: str) -> str:
    """The wording if every {placeholder} is a known one; a clear error naming the first bad one otherwise."""
    text = (text or "").strip()
    if not text:
        raise ApplicationError(
            _("El texto de «%(label)s» está vacío.") % {"label": label}, code=CredentialErrorCode.TEMPLATE_INVALID
        )
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ApplicationError(
            _("El texto de «%(label)s» tiene una llave sin cerrar: escribí {{ o }} para una llave literal.")
            % {"label": label},
            code=CredentialErrorCode.TEMPLATE_INVALID,
        ) from exc
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in WORDING_FIELDS or spec or conversion:
            raise ApplicationError(
                _("«{%(field)s}» no es un dato conocido en «%(label)s». Podés usar: %(known)s.")
                % {"field": field, "label": label, "known": ", ".join("{" + f + "}" for f in WORDING_FIELDS)},
                code=CredentialErrorCode.TEMPLATE_INVALID,
            )
    return text


def signature_normalise(raw: bytes) -> bytes:
    """An uploaded signature as a PNG at most SIGNATURE_MAX_SIDE wide, white made transparent-safe (RGBA)."""
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise ApplicationError(_("La imagen de la firma pesa más de 2 MB."), code=CredentialErrorCode.SIGNATURE_INVALID)
    try:
        image = Image.open(io.BytesIO(raw))
        if image.format not in {"PNG", "JPEG", "WEBP"}:
            raise ApplicationError(
                _("La firma tiene que ser una imagen PNG o JPEG."), code=CredentialErrorCode.SIGNATURE_INVALID
            )
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ApplicationError(
            _("No se pudo leer la imagen de la firma: subí un PNG o JPEG."), code=CredentialErrorCode.SIGNATURE_INVALID
        ) from exc
    rgba = image.convert("RGBA")
    rgba.thumbnail((SIGNATURE_MAX_SIDE, SIGNATURE_MAX_SIDE))
    out = io.BytesIO()
    rgba.save(out, format="PNG", optimize=True)
    return out.getvalue()


def credential_setup_save(
    *,
    election: Election,
    actor,
    party_name: str,
    list_number: str,
    signatory_name: str,
    signatory_dni: str,
    table_wording: str,
    place_wording: str,
    signature: bytes | None = None,
) -> CredentialSetup:
    """Save the election's party, signatory, wording and (when given) signature. Leads only."""
    if role_of(actor) != Role.LEAD:
        raise PermissionDenied(_("Solo un responsable cambia los datos de las credenciales."))
    dni = re.sub(r"[.\s-]", "", signatory_dni or "")
    if dni and not re.fullmatch(r"\d{7,8}", dni):
        raise ApplicationError(
            _("El DNI del apoderado/a tiene que tener 7 u 8 dígitos."), code=CredentialErrorCode.SIGNATORY_DNI_INVALID
        )
    table_text = wording_check(table_wording, label=_("fiscal de mesa"))
    place_text = wording_check(place_wording, label=_("fiscal general"))
    png = signature_normalise(signature) if signature else None
    with transaction.atomic():
        setup = credential_setup_get(election=election)
        setup.party_name = party_name.strip()[:200]
        setup.list_number = list_number.strip()[:20]
        setup.signatory_name = signatory_name.strip()[:200]
        setup.signatory_dni = dni
        setup.table_wording = table_text
        setup.place_wording = place_text
        if png is not None:
            setup.signature_png = png
        setup.updated_by = actor if getattr(actor, "is_authenticated", False) else None
        setup.save()
    return setup


# --- issue and revoke -------------------------------------------------------------------------


def credentials_revoke(*, assignment_ids: Iterable[int], reason: str) -> int:
    """Revoke the valid credentials of these assignments. Called inside the assignment services'
    transactions (decline, cancel, no-show, swap) and by the auto-assigner's plan writer."""
    ids = list(assignment_ids)
    if not ids:
        return 0
    return Credential.objects.filter(assignment_id__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=RevokeReason(reason)
    )


def credentials_issue(*, assignments: Iterable[Assignment]) -> list[Credential]:
    """A valid credential for each active assignment's current slot, issuing the missing ones.

    A credential printed for another slot (the assignment was moved) is revoked first. Returns
    the credentials with their relations loaded, in no particular order.
    """
    active = [a for a in assignments if a.status in ACTIVE_STATUSES]
    if not active:
        return []
    by_id = {a.pk: a for a in active}
    with transaction.atomic():
        current = {
            c.assignment_id: c
            for c in Credential.objects.select_for_update().filter(assignment_id__in=by_id, revoked_at__isnull=True)
        }
        stale = [
            c.assignment_id
            for c in current.values()
            if c.place_id != by_id[c.assignment_id].place_id or c.table_id != by_id[c.assignment_id].table_id
        ]
        if stale:
            credentials_revoke(assignment_ids=stale, reason=RevokeReason.MOVED)
        missing = [a for a in active if a.pk not in current or a.pk in stale]
        Credential.objects.bulk_create(
            [
                Credential(
                    token=token_new(),
                    assignment_id=a.pk,
                    election_id=a.election_id,
                    place_id=a.place_id,
                    table_id=a.table_id,
                )
                for a in missing
            ],
            batch_size=1000,
        )
    return list(credentials_with_relations().filter(assignment_id__in=by_id, revoked_at__isnull=True))


# --- documents --------------------------------------------------------------------------------


def _pdf(credentials: list[Credential], *, election: Election, layout: str) -> tuple[bytes, int]:
    setup = credential_setup_get(election=election)
    views = credential_views(credentials=sorted(credentials, key=print_order), setup=setup)
    return credentials_pdf(views, signatory_of(setup), layout=layout)


def place_credentials_pdf(*, place: PollingPlace, actor) -> tuple[bytes, int]:
    """Every active watcher's credential of one school, two per A4 page in table order.

    Leads and the coordinators whose scope covers the school; issues what is missing."""
    require(actor, Action.CHANGE, place)
    assignments = Assignment.objects.filter(place=place, status__in=ACTIVE_STATUSES)
    return _pdf(credentials_issue(assignments=assignments), election=place.election, layout="a4")


def assignment_credential_pdf(*, assignment: Assignment, actor, layout: str = "a4") -> tuple[bytes, int]:
    """One watcher's credential: issued if missing while the assignment is active; the last one,
    marked REVOCADA, once it has ended. The watcher (from their own page), their coordinators, leads."""
    require(actor, Action.VIEW, assignment)
    if layout not in LAYOUTS:
        layout = "a4"
    if assignment.status in ACTIVE_STATUSES:
        credentials = credentials_issue(assignments=[assignment])
    else:
        latest = credentials_with_relations().filter(assignment=assignment).order_by("-issued_at", "-id").first()
        if latest is None:
            raise ApplicationError(
                _("Esta asignación terminó sin que se emitiera una credencial."), code=CredentialErrorCode.NOT_ACTIVE
            )
        credentials = [latest]
    return _pdf(credentials, election=assignment.election, layout=layout)


# --- batches: a zip of schools ----------------------------------------------------------------


def batch_dir() -> Path:
    path = Path(settings.CREDENTIALS_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def credentials_batch_start(*, election: Election, area: Area | None, actor) -> CredentialBatch:
    """Queue a zip of one PDF per school for `area` (the whole election: leads only), after commit."""
    if area is None:
        if role_of(actor) != Role.LEAD:
            raise PermissionDenied(_("Solo un responsable imprime toda la elección: elegí un área de tu alcance."))
    else:
        require(actor, Action.CHANGE, area)
    places = batch_places(user=actor, election=election, area=area)
    if not places:
        raise ApplicationError(
            _("No hay fiscales asignados en esta área: no hay credenciales para imprimir."),
            code=CredentialErrorCode.BATCH_EMPTY,
        )
    batch = CredentialBatch.objects.create(election=election, area=area, requested_by=actor, total=len(places))
    transaction.on_commit(lambda: task_queue(BATCH_TASK, batch.pk))
    return batch


def _school_file_name(place: PollingPlace) -> str:
    return f"{slugify(place.code) or place.pk}-{slugify(place.name)[:60] or 'establecimiento'}.pdf"


def credentials_batch_build(*, batch_id: int, on_progress: Callable[[int, int], None] | None = None) -> CredentialBatch:
    """Write the batch's zip: issue what is missing and render one PDF per school; progress after each chunk."""
    batch = CredentialBatch.objects.select_related("election", "area", "requested_by").get(pk=batch_id)
    batch.state = FileJobState.RUNNING
    batch.save(update_fields=["state"])
    target: Path | None = None
    try:
        place_ids = batch_places(user=batch.requested_by, election=batch.election, area=batch.area)
        places = PollingPlace.objects.in_bulk(place_ids)
        setup = credential_setup_get(election=batch.election)
        signatory = signatory_of(setup)
        name = f"credenciales-{batch.pk}-{secrets.token_hex(8)}.zip"
        target = batch_dir() / name
        pages = 0
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
            done = 0
            # Schools in chunks: a handful of queries per chunk instead of per school.
            for start in range(0, len(place_ids), BATCH_CHUNK):
                chunk = place_ids[start : start + BATCH_CHUNK]
                assignments = Assignment.objects.filter(place_id__in=chunk, status__in=ACTIVE_STATUSES)
                credentials = sorted(credentials_issue(assignments=assignments), key=print_order)
                views = credential_views(credentials=credentials, setup=setup)
                by_place: dict[int, list] = {}
                for credential, view in zip(credentials, views, strict=True):
                    by_place.setdefault(credential.place_id, []).append(view)
                for place_id in chunk:
                    content, count = credentials_pdf(by_place.get(place_id, []), signatory, layout="a4")
                    archive.writestr(_school_file_name(places[place_id]), content)
                    pages += count
                    done += 1
                CredentialBatch.objects.filter(pk=batch.pk).update(done=done, pages=pages, total=len(place_ids))
                if on_progress:
                    on_progress(done, len(place_ids))
    except Exception as exc:
        if target is not None:
            target.unlink(missing_ok=True)  # a half-written zip of names and DNIs is no use to anyone
        CredentialBatch.objects.filter(pk=batch.pk).update(
            state=FileJobState.FAILED, error=str(exc)[:300], finished_at=timezone.now()
        )
        raise
    CredentialBatch.objects.filter(pk=batch.pk).update(
        state=FileJobState.DONE, file_name=name, finished_at=timezone.now()
    )
    batch.refresh_from_db()
    return batch


def credentials_batches_expire(*, now: datetime | None = None) -> int:
    """Delete the zips finished more than GENERATED_FILES_KEEP_HOURS ago: they carry names and DNIs."""
    return file_jobs_expire(CredentialBatch, batch_dir(), now=now)
