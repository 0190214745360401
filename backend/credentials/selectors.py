"""Reads of the credentials app: what a printed credential says, what the door's verification page
shows, and the accreditation list with each assignment's status."""

from __future__ import annotations

import string
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.assignments.models import ACTIVE_STATUSES, Assignment, AssignmentRole, AssignmentStatus
from backend.elections.models import PATH_SEPARATOR, Area, Election, PollingPlace
from backend.permissions import role_of, visible

from .models import Credential, CredentialBatch, CredentialSetup, RevokeReason

VERIFY_PATH = "/v/"


def verification_url(token: str) -> str:
    """The QR's short link: PUBLIC_BASE_URL + /v/ + 10 characters."""
    return f"{settings.PUBLIC_BASE_URL}{VERIFY_PATH}{token}"


def credential_setup_get(*, election: Election) -> CredentialSetup:
    """The election's setup, or an unsaved one with the default wording."""
    return CredentialSetup.objects.filter(election=election).first() or CredentialSetup(election=election)


def dni_display(dni: str) -> str:
    """30123456 -> 30.123.456 (as printed on the national ID)."""
    digits = "".join(c for c in dni if c.isdigit())
    if not digits:
        return dni
    return f"{int(digits):,}".replace(",", ".")


def wording_render(template: str, values: dict[str, str]) -> str:
    """The wording with its placeholders filled; the template was checked when saved (field names only)."""
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(literal)
        if field is not None:
            parts.append(values.get(field, "{" + field + "}"))
    return "".join(parts)


@dataclass(frozen=True)
class CredentialView:
    """Everything one printed credential shows, already as text."""

    token: str
    verify_url: str
    valid: bool
    revoked_note: str
    title: str
    party: str
    election: str
    election_date: str
    areas: str
    place_name: str
    place_address: str
    table_number: int | None
    full_name: str
    dni: str
    wording: str
    issued: str


@dataclass(frozen=True)
class Signatory:
    name: str
    dni: str
    party: str
    signature_png: bytes


def signatory_of(setup: CredentialSetup) -> Signatory:
    return Signatory(
        name=setup.signatory_name,
        dni=dni_display(setup.signatory_dni) if setup.signatory_dni else "",
        party=setup.party_name,
        signature_png=bytes(setup.signature_png or b""),
    )


def _area_names(election_id: int, place_paths: set[str]) -> dict[str, list[Area]]:
    """For each area path, the chain of areas from the root (one query for all of them)."""
    wanted: set[str] = set()
    for path in place_paths:
        codes = [c for c in path.split(PATH_SEPARATOR) if c]
        wanted.update(PATH_SEPARATOR + PATH_SEPARATOR.join(codes[: i + 1]) + PATH_SEPARATOR for i in range(len(codes)))
    by_path = {a.path: a for a in Area.objects.filter(election_id=election_id, path__in=wanted)}
    chains = {}
    for path in place_paths:
        codes = [c for c in path.split(PATH_SEPARATOR) if c]
        chain = [
            by_path.get(PATH_SEPARATOR + PATH_SEPARATOR.join(codes[: i + 1]) + PATH_SEPARATOR)
            for i in range(len(codes))
        ]
        chains[path] = [a for a in chain if a is not None]
    return chains


def _area_line(chain: list[Area]) -> str:
    return " · ".join(f"{a.kind.capitalize()}: {a.name}" if a.kind else a.name for a in chain)


def _wording_values(*, setup: CredentialSetup, credential: Credential, chain: list[Area]) -> dict[str, str]:
    volunteer = credential.assignment.volunteer
    place = credential.place
    by_kind = {a.kind.lower(): a.name for a in chain}
    return {
        "agrupacion": setup.party_name,
        "lista": setup.list_number,
        "eleccion": credential.election.name,
        "fecha_eleccion": formats.date_format(credential.election.date, "j/n/Y"),
        "nombre": volunteer.full_name,
        "dni": dni_display(volunteer.dni),
        "establecimiento": place.name,
        "direccion": ", ".join(p for p in (place.address, place.locality) if p),
        "mesa": str(credential.table.number) if credential.table is not None else "",
        "distrito": by_kind.get("distrito", chain[0].name if chain else ""),
        "seccion": by_kind.get("sección", by_kind.get("seccion", by_kind.get("departamento", ""))),
        "circuito": by_kind.get("circuito", ""),
        "apoderado": setup.signatory_name,
        "dni_apoderado": dni_display(setup.signatory_dni) if setup.signatory_dni else "",
    }


def credential_views(*, credentials: list[Credential], setup: CredentialSetup) -> list[CredentialView]:
    """What each credential prints, in the order given. `credentials` come with their assignment,
    volunteer, election, place and table loaded (see `credentials_with_relations`)."""
    if not credentials:
        return []
    chains = _area_names(credentials[0].election_id, {c.place.area.path for c in credentials})
    party = setup.party_name + (f" — {_('Lista')} {setup.list_number}" if setup.list_number else "")
    views = []
    for credential in credentials:
        chain = chains.get(credential.place.area.path, [])
        is_table = credential.table is not None
        template = setup.table_wording if is_table else setup.place_wording
        volunteer = credential.assignment.volunteer
        revoked_note = ""
        if credential.revoked_at is not None:
            revoked_note = _("REVOCADA el %(date)s: %(reason)s. No es válida para ingresar.") % {
                "date": formats.date_format(timezone.localtime(credential.revoked_at), "j/n/Y H:i"),
                "reason": RevokeReason(credential.revoked_reason).label
                if credential.revoked_reason
                else _("asignación terminada"),
            }
        views.append(
            CredentialView(
                token=credential.token,
                verify_url=verification_url(credential.token),
                valid=credential.revoked_at is None,
                revoked_note=revoked_note,
                title=_("Credencial de fiscal de mesa") if is_table else _("Credencial de fiscal general"),
                party=party,
                election=credential.election.name,
                election_date=formats.date_format(credential.election.date, "j/n/Y"),
                areas=_area_line(chain),
                place_name=credential.place.name,
                place_address=", ".join(p for p in (credential.place.address, credential.place.locality) if p),
                table_number=credential.table.number if credential.table is not None else None,
                full_name=f"{volunteer.first_name} {volunteer.last_name}".strip(),
                dni=dni_display(volunteer.dni),
                wording=wording_render(template, _wording_values(setup=setup, credential=credential, chain=chain)),
                issued=formats.date_format(timezone.localtime(credential.issued_at), "j/n/Y"),
            )
        )
    return views


def credentials_with_relations() -> QuerySet[Credential]:
    return Credential.objects.select_related("assignment__volunteer", "election", "place__area", "table")


def print_order(credential: Credential) -> tuple:
    """A school's credentials as its tables run: the fiscal general first, then table by table."""
    table_number = credential.table.number if credential.table is not None else -1
    return (credential.place.code, table_number, credential.assignment.slot)


def place_active_assignments(*, place: PollingPlace) -> QuerySet[Assignment]:
    return Assignment.objects.filter(place=place, status__in=ACTIVE_STATUSES)


def batch_places(*, user, election: Election, area: Area | None) -> list[int]:
    """Ids of the places in `area` (or the whole election) that have an active watcher the user may see."""
    qs = visible(user, Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES))
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    ids = set(qs.values_list("place_id", flat=True))
    return list(PollingPlace.objects.filter(pk__in=ids).order_by("code").values_list("pk", flat=True))


def assignment_latest_credential(*, assignment: Assignment) -> Credential | None:
    return credentials_with_relations().filter(assignment=assignment).order_by("-issued_at", "-id").first()


@dataclass(frozen=True)
class Verification:
    """What the door sees: valid or not, and just enough to match the person in front of the table."""

    valid: bool
    first_name: str
    dni_tail: str
    place_name: str
    table_number: int | None


def credential_verify(*, token: str) -> Verification | None:
    credential = (
        Credential.objects.select_related("assignment__volunteer", "place", "table").filter(token=token).first()
    )
    if credential is None:
        return None
    volunteer = credential.assignment.volunteer
    return Verification(
        # The status too: an assignment ended by a door that forgot to revoke still reads as revoked.
        valid=credential.revoked_at is None
        and credential.assignment.status in (*ACTIVE_STATUSES, AssignmentStatus.DONE),
        first_name=volunteer.first_name.split(" ")[0] if volunteer.first_name else "",
        dni_tail=volunteer.dni[-3:],
        place_name=credential.place.name,
        table_number=credential.table.number if credential.table is not None else None,
    )


@dataclass(frozen=True)
class AccreditationRow:
    last_name: str
    first_name: str
    dni: str
    place_code: str
    place_name: str
    address: str
    table: int | None
    role: str
    status: str
    credential: str


def accreditation_status_rows(*, user, election: Election, area: Area | None = None) -> list[AccreditationRow]:
    """Every assignment the user may see (active and ended), by place, table and slot, with its status
    and its credential's: valid, revoked or not issued yet."""
    qs = visible(user, Assignment.objects.filter(election=election))
    if area is not None:
        qs = qs.filter(place__area__path__startswith=area.path)
    qs = qs.filter(Q(status__in=ACTIVE_STATUSES) | Q(credentials__isnull=False))
    qs = qs.select_related("volunteer", "place", "table").order_by("place__code", "role", "table__number", "slot", "id")
    credential_state: dict[int, bool] = {}
    for assignment_id, revoked_at in Credential.objects.filter(assignment__in=qs.values("pk")).values_list(
        "assignment_id", "revoked_at"
    ):
        credential_state[assignment_id] = credential_state.get(assignment_id, False) or revoked_at is None
    rows = []
    for a in qs.distinct():
        if a.pk not in credential_state:
            cred = _("sin emitir")
        elif credential_state[a.pk]:
            cred = _("válida")
        else:
            cred = _("revocada")
        rows.append(
            AccreditationRow(
                last_name=a.volunteer.last_name,
                first_name=a.volunteer.first_name,
                dni=a.volunteer.dni,
                place_code=a.place.code,
                place_name=a.place.name,
                address=a.place.address,
                table=a.table.number if a.table is not None else None,
                role=str(AssignmentRole(a.role).label),
                status=str(AssignmentStatus(a.status).label),
                credential=str(cred),
            )
        )
    return rows


def batch_get(*, user, pk: int) -> CredentialBatch | None:
    """A batch its requester (or a lead) may follow and download; None for anyone else."""
    batch = CredentialBatch.objects.select_related("area", "election").filter(pk=pk).first()
    if batch is None:
        return None
    if batch.requested_by_id == getattr(user, "pk", None) or role_of(user) == Role.LEAD:
        return batch
    return None
