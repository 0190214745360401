"""Reading a roster (phase 1 of the import): the columns it knows, each row cleaned into a `Candidate`
or a rejection, duplicates inside the file merged by DNI. Pure: no transaction, nothing written
but the batch's progress.
"""

import logging
from dataclasses import dataclass, field

from django.utils.translation import get_language, gettext

from backend.core.emails import email_clean
from backend.core.phones import PhoneIssue, area_code_for_locality, normalize_phone
from backend.core.spreadsheets import Sheet
from backend.elections.models import Area, PollingPlace
from backend.volunteers.models import PhoneRule

from . import readers
from .models import ImportBatch, RowStatus

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 5000
# Volunteer fields a roster may set, in report order.
FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "email",
    "address",
    "area_id",
    "votes_at_id",
    "votes_at_score",
    "availability",
    "roles_accepted",
    "trained",
    "notes",
    "phone_verified",
    "phone_rule",
    "channel",
)


_translated: dict[tuple[str | None, str], str] = {}


def _(message: str) -> str:
    """gettext memoised per language: the same few sentences are asked for on every row."""
    key = (get_language(), message)
    text = _translated.get(key)
    if text is None:
        text = _translated[key] = gettext(message)
    return text


PHONE_AT = 2 + FIELDS.index("phone")  # in rows of values_list("pk", "dni", *FIELDS)


def field_labels() -> dict[str, str]:
    return {
        "first_name": _("nombre"),
        "last_name": _("apellido"),
        "phone": _("celular"),
        "email": _("email"),
        "address": _("domicilio"),
        "area_id": _("zona"),
        "votes_at_id": _("vota en"),
        "votes_at_score": _("coincidencia de 'vota en'"),
        "availability": _("disponibilidad"),
        "roles_accepted": _("rol"),
        "trained": _("capacitado"),
        "notes": _("notas"),
        "phone_verified": _("celular verificado"),
        "phone_rule": _("cómo se completó el celular"),
        "channel": _("canal"),
    }


def phone_message(issue: PhoneIssue, area_code: str = "") -> str:
    return {
        PhoneIssue.LANDLINE_AS_MOBILE: _("el celular estaba escrito como fijo (sin 9 ni 15): se guardó como celular"),
        PhoneIssue.DEFAULT_AREA_CODE: _("el celular no tenía código de área: se usó %(code)s") % {"code": area_code},
        PhoneIssue.SEVERAL_NUMBERS: _("había varios números: se usó el primero"),
        PhoneIssue.INVALID: _("celular inválido"),
        PhoneIssue.NO_AREA_CODE: _("el celular no tiene código de área (usá --default-area-code o agregalo)"),
        PhoneIssue.NOT_MOBILE: _("el número no puede ser un celular"),
    }[issue]


def phone_completed_message(rule: str, code: str, source: str) -> str:
    """The report's line on a number completed with a guessed area code: which rule, which code."""
    if rule == PhoneRule.LOCALITY:
        text = _("el celular no tenía código de área: se usó %(code)s, el de su localidad «%(source)s»")
    elif rule == PhoneRule.VOTES_AT:
        text = _("el celular no tenía código de área: se usó %(code)s, el de donde vota («%(source)s»)")
    else:
        text = _("el celular no tenía código de área: se usó %(code)s, el código por defecto")
    return (text + _("; queda sin verificar hasta que responda SI")) % {"code": code.lstrip("0"), "source": source}


@dataclass
class Candidate:
    """One person as read from the file (several rows when the DNI repeats)."""

    row: int
    dni: str
    values: dict
    warnings: list[str] = field(default_factory=list)
    merged_rows: list[int] = field(default_factory=list)
    status: str = ""
    reason: str = ""


@dataclass
class Outcome:
    """What happened to each row: status, reason, warning flag; and the counts."""

    statuses: dict[int, str] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    warned: set[int] = field(default_factory=set)

    def set(self, row: int, status: str, reason: str = "", warned: bool = False) -> None:
        self.statuses[row] = status
        if reason:
            self.reasons[row] = reason
        if warned:
            self.warned.add(row)


class RowReader:
    """Turns one data row into values; holds the per-import caches (phones are cached in core.phones)."""

    def __init__(self, *, columns: dict[str, int], election, default_area_code: str):
        self.columns = columns
        self.default_area_code = default_area_code
        self.matcher: readers.PlaceMatcher | None = None
        self._place_area_name: dict[int, str] = {}
        if "votes_at" in columns or "locality" in columns:
            places = [
                readers.PlaceCandidate(pk, code, name, path)
                for pk, code, name, path in PollingPlace.objects.filter(election=election).values_list(
                    "pk", "code", "name", "area__path"
                )
            ]
            areas = list(Area.objects.filter(election=election).values_list("pk", "name", "path"))
            self.matcher = readers.PlaceMatcher(places, areas)
            # For the area code of a number written without one: the name of a place's own area.
            area_name = {path: name for _pk, name, path in areas}
            self._place_area_name = {p.id: area_name.get(p.area_path, "") for p in places}
        self._locality_cache: dict[str, tuple[int, str] | None] = {}

    def cell(self, row: list, name: str) -> object:
        index = self.columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def read(self, number: int, row: list) -> Candidate | tuple[str, list[str]]:
        """A Candidate, or (rejection reason, warnings)."""
        warnings: list[str] = []
        values: dict = {}
        width = len(row)
        formulas = [
            name
            for name, index in self.columns.items()
            if index < width and type(row[index]) is str and row[index][:1] == "="
        ]
        if formulas:
            warnings.append(_("se ignoraron fórmulas en: %(cols)s") % {"cols": ", ".join(formulas)})

        raw_dni = self.cell(row, "dni")
        dni = readers.clean_dni(raw_dni)
        if dni is None:
            shown = readers.text(raw_dni)
            if not shown:
                return _("falta el DNI"), warnings
            return _("DNI inválido: «%(dni)s» (deben ser 7 u 8 dígitos)") % {"dni": shown}, warnings

        if "full_name" in self.columns and readers.text(self.cell(row, "full_name")):
            first, last = readers.split_full_name(readers.text(self.cell(row, "full_name")))
        else:
            first = readers._nice(readers.text(self.cell(row, "first_name")))
            last = readers._nice(readers.text(self.cell(row, "last_name")))
        if not first and not last:
            return _("falta el nombre"), warnings
        values["first_name"], values["last_name"] = first[:120], last[:120]

        if self.matcher is not None:
            self._match_place(row, values, warnings)
        rejected = self._phone(row, values, warnings)
        if rejected:
            return rejected, warnings

        raw_email = readers.text(self.cell(row, "email"))
        if raw_email:
            email, valid = email_clean(raw_email)
            if valid:
                values["email"] = email[:254]
            else:
                warnings.append(_("email inválido descartado: «%(email)s»") % {"email": raw_email})

        address = readers.text(self.cell(row, "address"))
        if address:
            values["address"] = address[:255]
        notes = readers.text(self.cell(row, "notes"))
        if notes:
            values["notes"] = notes

        availability_text = readers.text(self.cell(row, "availability"))
        if availability_text:
            availability = readers.parse_availability(availability_text)
            if availability:
                values["availability"] = availability
            else:
                warnings.append(_("disponibilidad no reconocida: «%(text)s»") % {"text": availability_text})
        role_text = readers.text(self.cell(row, "role"))
        if role_text:
            role = readers.parse_role(role_text)
            if role:
                values["roles_accepted"] = role
            else:
                warnings.append(_("rol no reconocido: «%(text)s»") % {"text": role_text})
        channel_text = readers.text(self.cell(row, "channel"))
        if channel_text:
            channel = readers.parse_channel(channel_text)
            if channel:
                values["channel"] = channel
            else:
                warnings.append(
                    _("canal no reconocido: «%(text)s» (WhatsApp, SMS o automático)") % {"text": channel_text}
                )
        trained = readers.parse_bool(self.cell(row, "trained"))
        if trained is not None:
            values["trained"] = trained

        return Candidate(number, dni, values, warnings)

    def _phone(self, row: list, values: dict, warnings: list[str]) -> str:
        """Store the phone in `values` (with how its area code was found); the rejection reason, or ""."""
        raw = self.cell(row, "phone")
        phone = normalize_phone(raw)
        rule, code, source = PhoneRule.WRITTEN, "", ""
        if phone.error == PhoneIssue.NO_AREA_CODE:
            # The person's own locality first, then the place where they vote, then the default.
            for rule, source in (
                (PhoneRule.LOCALITY, readers.text(self.cell(row, "locality"))),
                (PhoneRule.VOTES_AT, self._place_area_name.get(values.get("votes_at_id") or 0, "")),
                (PhoneRule.DEFAULT, ""),
            ):
                code = (area_code_for_locality(source) if source else None) or ""
                if rule == PhoneRule.DEFAULT:
                    code = self.default_area_code or ""
                if not code:
                    continue
                guess = normalize_phone(raw, default_area_code=code)
                if guess.e164:
                    phone = guess
                    break
        if phone.error:
            shown = readers.text(raw)
            return f"{phone_message(phone.error, self.default_area_code)}: «{shown}»"
        if not phone.e164:
            warnings.append(_("sin celular"))
            return ""
        values["phone"] = phone.e164
        guessed = PhoneIssue.DEFAULT_AREA_CODE in phone.warnings
        values["phone_rule"] = rule if guessed else PhoneRule.WRITTEN
        values["phone_verified"] = not guessed
        for issue in phone.warnings:
            if issue == PhoneIssue.DEFAULT_AREA_CODE:
                warnings.append(phone_completed_message(rule, code, source))
            else:
                warnings.append(phone_message(issue, self.default_area_code))
        return ""

    def _match_place(self, row: list, values: dict, warnings: list[str]) -> None:
        assert self.matcher is not None
        locality_text = readers.text(self.cell(row, "locality"))
        locality = None
        if locality_text:
            if locality_text not in self._locality_cache:
                self._locality_cache[locality_text] = self.matcher.locality(locality_text)
            locality = self._locality_cache[locality_text]
            if locality is None:
                warnings.append(_("localidad desconocida: «%(text)s»") % {"text": locality_text})
            else:
                values["area_id"] = locality[0]
        votes_text = readers.text(self.cell(row, "votes_at"))
        if not votes_text:
            return
        place_id, score = self.matcher.match(votes_text, locality[1] if locality else None)
        if place_id is None:
            warnings.append(
                _("no se encontró el establecimiento donde vota: «%(text)s»") % {"text": votes_text}
                if locality
                else _("no se encontró el establecimiento donde vota: «%(text)s» (indicá código o localidad)")
                % {"text": votes_text}
            )
            return
        values["votes_at_id"], values["votes_at_score"] = place_id, score


def _merge(base: Candidate, other: Candidate) -> list[str]:
    """Fill `base` with `other`'s values where base has none; return the fields that disagreed (base kept)."""
    conflicts = []
    for name, value in other.values.items():
        if name == "votes_at_score":
            continue
        if name not in base.values:
            base.values[name] = value
            if name == "votes_at_id":
                base.values["votes_at_score"] = other.values.get("votes_at_score")
        elif base.values[name] != value:
            conflicts.append(name)
    base.merged_rows.append(other.row)
    return conflicts


def read_roster(*, batch: ImportBatch, sheet: Sheet) -> tuple[list[Candidate], Outcome, int]:
    """Phase 1: rows to candidates (DNI duplicates merged, phone conflicts rejected); header row number."""
    rows = sheet.rows()
    header = readers.find_header(rows, readers.ROSTER_HEADERS, readers.ROSTER_REQUIRED)
    reader = RowReader(columns=header.columns, election=batch.election, default_area_code=batch.default_area_code)
    # A column the importer cannot use is listed in the preview, never silently ignored.
    used = set(header.columns.values())
    unused = [readers.text(c) for i, c in enumerate(header.cells) if i not in used and readers.text(c)]
    batch.details = {**(batch.details or {}), "unused_columns": unused}
    outcome = Outcome()
    for n in range(1, header.index + 2):
        outcome.statuses[n] = RowStatus.SKIPPED
    by_dni: dict[str, Candidate] = {}
    labels = field_labels()
    done_since = 0
    for number, row in enumerate(rows, start=header.index + 2):
        done_since += 1
        if done_since >= PROGRESS_EVERY:
            ImportBatch.objects.filter(pk=batch.pk).update(rows_done=min(number, batch.total_rows))
            done_since = 0
        if readers.is_blank(row):
            outcome.set(number, RowStatus.SKIPPED)
            continue
        read = reader.read(number, row)
        if isinstance(read, tuple):
            reason, warnings = read
            if readers.is_totals_row(row) and readers.clean_dni(reader.cell(row, "dni")) is None:
                outcome.set(number, RowStatus.SKIPPED, _("fila de totales omitida"))
                continue
            outcome.set(number, RowStatus.REJECTED, "; ".join([reason, *warnings]))
            continue
        base = by_dni.get(read.dni)
        if base is None:
            by_dni[read.dni] = read
            continue
        conflicts = _merge(base, read)
        reason = _("mismo DNI que la fila %(row)s: datos fusionados en un solo fiscal") % {"row": base.row}
        if conflicts:
            reason += "; " + _("se conservaron los datos de la fila %(row)s en: %(fields)s") % {
                "row": base.row,
                "fields": ", ".join(labels[c] for c in conflicts),
            }
        outcome.set(number, RowStatus.MERGED, "; ".join([reason, *read.warnings]), warned=bool(read.warnings))

    # The same phone under two DNIs: a conflict; neither row may overwrite the other.
    by_phone: dict[str, list[Candidate]] = {}
    for candidate in by_dni.values():
        phone = candidate.values.get("phone")
        if phone:
            by_phone.setdefault(phone, []).append(candidate)
    candidates = []
    for candidate in by_dni.values():
        owners = by_phone.get(candidate.values.get("phone", ""), [candidate])
        if len(owners) > 1:
            others = ", ".join(
                _("fila %(row)s (DNI %(dni)s)") % {"row": o.row, "dni": o.dni} for o in owners if o is not candidate
            )
            reject_candidate(
                candidate,
                outcome,
                _("conflicto: el celular %(phone)s también figura en %(others)s; no se importó ninguno")
                % {"phone": candidate.values["phone"], "others": others},
            )
            continue
        candidates.append(candidate)
    ImportBatch.objects.filter(pk=batch.pk).update(rows_done=batch.total_rows)
    return candidates, outcome, header.index + 1


def reject_candidate(candidate: Candidate, outcome: Outcome, reason: str) -> None:
    outcome.set(candidate.row, RowStatus.REJECTED, "; ".join([reason, *candidate.warnings]))
    for row in candidate.merged_rows:
        reason = _("fusionada con la fila %(row)s, que fue rechazada") % {"row": candidate.row}
        outcome.set(row, RowStatus.REJECTED, reason)
