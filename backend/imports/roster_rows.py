"""Reading a roster (phase 1 of the import): the columns it knows, each row cleaned into a `Candidate`
or a rejection, duplicates inside the file merged by DNI. Pure: no transaction, nothing written
but the batch's progress.
"""

import logging
from dataclasses import dataclass, field

from django.utils.translation import gettext

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


def _(message: str) -> str:
    """gettext under the name makemessages looks for; the row code reads its sentences from `Texts`."""
    return gettext(message)


class Texts:
    """Every sentence a roster import writes, translated once per import (in the batch's language).

    A row's reason is built from these by `%` alone: asking gettext on every row for the same few
    sentences cost more than all the rest of the row's text work."""

    def __init__(self) -> None:
        self.labels = field_labels()
        self.formulas = _("se ignoraron fórmulas en: %(cols)s")
        self.no_dni = _("falta el DNI")
        self.bad_dni = _("DNI inválido: «%(dni)s» (deben ser 7 u 8 dígitos)")
        self.no_name = _("falta el nombre")
        self.bad_email = _("email inválido descartado: «%(email)s»")
        self.bad_availability = _("disponibilidad no reconocida: «%(text)s»")
        self.bad_role = _("rol no reconocido: «%(text)s»")
        self.bad_channel = _("canal no reconocido: «%(text)s» (WhatsApp, SMS o automático)")
        self.no_phone = _("sin celular")
        self.unknown_locality = _("localidad desconocida: «%(text)s»")
        self.place_not_found = _("no se encontró el establecimiento donde vota: «%(text)s»")
        self.place_not_found_no_locality = _(
            "no se encontró el establecimiento donde vota: «%(text)s» (indicá código o localidad)"
        )
        self.totals_row = _("fila de totales omitida")
        self.same_dni = _("mismo DNI que la fila %(row)s: datos fusionados en un solo fiscal")
        self.kept_row = _("se conservaron los datos de la fila %(row)s en: %(fields)s")
        self.row_dni = _("fila %(row)s (DNI %(dni)s)")
        self.phone_in_file = _("conflicto: el celular %(phone)s también figura en %(others)s; no se importó ninguno")
        self.phone_of_other = _(
            "conflicto: el celular %(phone)s ya pertenece a otro fiscal (DNI %(dni)s); no se sobrescribe"
        )
        self.changed = _("cambió: %(fields)s")
        self.merged_rejected = _("fusionada con la fila %(row)s, que fue rechazada")
        self._phone: dict[tuple[PhoneIssue, str], str] = {}
        self._completed: dict[tuple[str, str, str], str] = {}

    def phone(self, issue: PhoneIssue, area_code: str = "") -> str:
        text = self._phone.get((issue, area_code))
        if text is None:
            text = self._phone[(issue, area_code)] = phone_message(issue, area_code)
        return text

    def phone_completed(self, rule: str, code: str, source: str) -> str:
        text = self._completed.get((rule, code, source))
        if text is None:
            text = self._completed[(rule, code, source)] = phone_completed_message(rule, code, source)
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


# Each distinct order of a candidate's field names, kept once for every candidate that has it.
_KEY_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}


class Candidate:
    """One person as read from the file (several rows when the DNI repeats).

    Its values are kept as two tuples, the field names (one shared tuple per order of names) and
    the values: a dict of a dozen fields costs 650 bytes, the tuple 150, and 200,000 people are held
    at once. `values` gives (and takes) them as a dict, in the order they were set."""

    __slots__ = ("_names", "_values", "dni", "merged_rows", "phone", "row", "warnings")
    phone: str | None

    def __init__(self, row: int, dni: str, values: dict, warnings: list[str] | tuple[()] = ()):
        self.row = row
        self.dni = dni
        self.values = values
        # Most people have no warning and no duplicate: the shared empty tuple, not two lists each.
        self.warnings = warnings
        self.merged_rows: list[int] | tuple[()] = ()

    @property
    def values(self) -> dict:
        return dict(zip(self._names, self._values, strict=True))

    @values.setter
    def values(self, values: dict) -> None:
        names = tuple(values)
        self._names = _KEY_ORDERS.setdefault(names, names)
        self._values = tuple(values.values())
        # Read four times per person by the import (conflicts in the file, then in the database).
        self.phone = values.get("phone")

    def as_row(self) -> tuple[str, tuple[str, ...], tuple]:
        """(DNI, field names, values): what `roster.insert_candidates` writes, without a dict between."""
        return self.dni, self._names, self._values


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


# What a (locality, "vota en") pair of cells gives, worked out once per distinct pair:
# (area id or None, locality path or None, place id or None, score, warnings).
_PlaceResult = tuple[int | None, str | None, int | None, float | None, tuple[str, ...]]


class RowReader:
    """Turns one data row into values; holds the per-import caches (one entry per distinct value)."""

    def __init__(self, *, columns: dict[str, int], election, default_area_code: str, texts: Texts):
        self.columns = columns
        self.texts = texts
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
        self._places: dict[tuple[str | None, str | None], _PlaceResult] = {}
        self._column_items = tuple(columns.items())
        get = columns.get
        self._dni, self._full_name = get("dni"), get("full_name")
        self._first_name, self._last_name = get("first_name"), get("last_name")
        self._phone_at, self._email, self._locality = get("phone"), get("email"), get("locality")
        self._votes_at, self._address, self._notes = get("votes_at"), get("address"), get("notes")
        self._trained = get("trained")
        # Columns of a closed list of choices: (index, parser, field, warning for a value outside it).
        self._choice_columns = tuple(
            (index, parse, name, bad)
            for index, parse, name, bad in (
                (get("availability"), readers.parse_availability, "availability", texts.bad_availability),
                (get("role"), readers.parse_role, "roles_accepted", texts.bad_role),
                (get("channel"), readers.parse_channel, "channel", texts.bad_channel),
            )
            if index is not None
        )

    def cell(self, row: list, name: str) -> object:
        index = self.columns.get(name)
        return row[index] if index is not None and index < len(row) else None

    def read(self, number: int, row: list) -> Candidate | tuple[str, list[str]]:
        """A Candidate, or (rejection reason, warnings)."""
        texts = self.texts
        text = readers.text
        warnings: list[str] = []
        values: dict = {}
        width = len(row)
        formulas = [
            name
            for name, index in self._column_items
            if index < width and type(row[index]) is str and row[index][:1] == "="
        ]
        if formulas:
            warnings.append(texts.formulas % {"cols": ", ".join(formulas)})

        at = self._dni
        raw_dni = row[at] if at is not None and at < width else None
        dni = readers.clean_dni(raw_dni)
        if dni is None:
            shown = text(raw_dni)
            if not shown:
                return texts.no_dni, warnings
            return texts.bad_dni % {"dni": shown}, warnings

        at = self._full_name
        full_name = text(row[at]) if at is not None and at < width else ""
        if full_name:
            first, last = readers.split_full_name(full_name)
        else:
            at = self._first_name
            first = readers._nice(text(row[at] if at is not None and at < width else None))
            at = self._last_name
            last = readers._nice(text(row[at] if at is not None and at < width else None))
        if not first and not last:
            return texts.no_name, warnings
        values["first_name"], values["last_name"] = first[:120], last[:120]

        if self.matcher is not None:
            self._match_place(row, width, values, warnings)
        rejected = self._phone(row, width, values, warnings)
        if rejected:
            return rejected, warnings

        at = self._email
        raw_email = text(row[at]) if at is not None and at < width else ""
        if raw_email:
            email, valid = email_clean(raw_email)
            if valid:
                values["email"] = email[:254]
            else:
                warnings.append(texts.bad_email % {"email": raw_email})

        at = self._address
        address = text(row[at]) if at is not None and at < width else ""
        if address:
            values["address"] = address[:255]
        at = self._notes
        notes = text(row[at]) if at is not None and at < width else ""
        if notes:
            values["notes"] = notes

        for at, parse, name, bad in self._choice_columns:
            cell_text = text(row[at]) if at < width else ""
            if cell_text:
                choice = parse(cell_text)
                if choice:
                    values[name] = choice
                else:
                    warnings.append(bad % {"text": cell_text})
        at = self._trained
        if at is not None:
            trained = readers.parse_bool(row[at] if at < width else None)
            if trained is not None:
                values["trained"] = trained

        return Candidate(number, dni, values, warnings or ())

    def _phone(self, row: list, width: int, values: dict, warnings: list[str]) -> str:
        """Store the phone in `values` (with how its area code was found); the rejection reason, or ""."""
        at = self._phone_at
        raw = row[at] if at is not None and at < width else None
        phone = normalize_phone(raw)
        rule, code, source = PhoneRule.WRITTEN, "", ""
        if phone.error == PhoneIssue.NO_AREA_CODE:
            # The person's own locality first, then the place where they vote, then the default.
            at = self._locality
            for rule, source in (
                (PhoneRule.LOCALITY, readers.text(row[at] if at is not None and at < width else None)),
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
            return f"{self.texts.phone(phone.error, self.default_area_code)}: «{shown}»"
        if not phone.e164:
            warnings.append(self.texts.no_phone)
            return ""
        values["phone"] = phone.e164
        if not phone.warnings:
            values["phone_rule"] = PhoneRule.WRITTEN
            values["phone_verified"] = True
            return ""
        guessed = PhoneIssue.DEFAULT_AREA_CODE in phone.warnings
        values["phone_rule"] = rule if guessed else PhoneRule.WRITTEN
        values["phone_verified"] = not guessed
        for issue in phone.warnings:
            if issue == PhoneIssue.DEFAULT_AREA_CODE:
                warnings.append(self.texts.phone_completed(rule, code, source))
            else:
                warnings.append(self.texts.phone(issue, self.default_area_code))
        return ""

    def _match_place(self, row: list, width: int, values: dict, warnings: list[str]) -> None:
        at = self._locality
        locality_cell = row[at] if at is not None and at < width else None
        at = self._votes_at
        votes_cell = row[at] if at is not None and at < width else None
        # Keyed by the raw cells: the same town and school are written the same way on many rows. Only
        # text and empty cells are keys (1 == 1.0 == True as keys, but they read differently).
        if (locality_cell is None or type(locality_cell) is str) and (votes_cell is None or type(votes_cell) is str):
            key = (locality_cell, votes_cell)
            found = self._places.get(key)
            if found is None:
                found = self._places[key] = self._place(locality_cell, votes_cell)
        else:
            found = self._place(locality_cell, votes_cell)
        area_id, _path, place_id, score, found_warnings = found
        if area_id is not None:
            values["area_id"] = area_id
        if found_warnings:
            warnings.extend(found_warnings)
        if place_id is not None:
            values["votes_at_id"], values["votes_at_score"] = place_id, score

    def _place(self, locality_cell: object, votes_cell: object) -> _PlaceResult:
        assert self.matcher is not None
        texts = self.texts
        warnings: list[str] = []
        locality_text = readers.text(locality_cell)
        locality = None
        if locality_text:
            locality = self.matcher.locality(locality_text)
            if locality is None:
                warnings.append(texts.unknown_locality % {"text": locality_text})
        area_id = locality[0] if locality else None
        path = locality[1] if locality else None
        votes_text = readers.text(votes_cell)
        if not votes_text:
            return area_id, path, None, None, tuple(warnings)
        place_id, score = self.matcher.match(votes_text, path)
        if place_id is None:
            template = texts.place_not_found if locality else texts.place_not_found_no_locality
            warnings.append(template % {"text": votes_text})
            return area_id, path, None, None, tuple(warnings)
        return area_id, path, place_id, score, tuple(warnings)


def _merge(base: Candidate, other: Candidate) -> list[str]:
    """Fill `base` with `other`'s values where base has none; return the fields that disagreed (base kept)."""
    conflicts = []
    values, other_values = base.values, other.values
    for name, value in other_values.items():
        if name == "votes_at_score":
            continue
        if name not in values:
            values[name] = value
            if name == "votes_at_id":
                values["votes_at_score"] = other_values.get("votes_at_score")
        elif values[name] != value:
            conflicts.append(name)
    base.values = values
    if base.merged_rows:
        base.merged_rows.append(other.row)  # type: ignore[union-attr]  # a list once it has a row
    else:
        base.merged_rows = [other.row]
    return conflicts


def read_roster(*, batch: ImportBatch, sheet: Sheet, texts: Texts) -> tuple[list[Candidate], Outcome, int]:
    """Phase 1: rows to candidates (DNI duplicates merged, phone conflicts rejected); header row number.

    The rows are read once, one at a time: only the candidates are kept, never the sheet's rows."""
    rows = sheet.rows()
    header = readers.find_header(rows, readers.ROSTER_HEADERS, readers.ROSTER_REQUIRED)
    reader = RowReader(
        columns=header.columns, election=batch.election, default_area_code=batch.default_area_code, texts=texts
    )
    # A column the importer cannot use is listed in the preview, never silently ignored.
    used = set(header.columns.values())
    unused = [readers.text(c) for i, c in enumerate(header.cells) if i not in used and readers.text(c)]
    batch.details = {**(batch.details or {}), "unused_columns": unused}
    outcome = Outcome()
    statuses = outcome.statuses
    for n in range(1, header.index + 2):
        statuses[n] = RowStatus.SKIPPED
    by_dni: dict[str, Candidate] = {}
    labels = texts.labels
    is_blank, read = readers.is_blank, reader.read
    next_progress = header.index + 2 + PROGRESS_EVERY - 1
    for number, row in enumerate(rows, start=header.index + 2):
        if number >= next_progress:
            ImportBatch.objects.filter(pk=batch.pk).update(rows_done=min(number, batch.total_rows))
            next_progress = number + PROGRESS_EVERY
        if is_blank(row):
            statuses[number] = RowStatus.SKIPPED
            continue
        candidate = read(number, row)
        if type(candidate) is tuple:
            reason, warnings = candidate
            if readers.is_totals_row(row) and readers.clean_dni(reader.cell(row, "dni")) is None:
                outcome.set(number, RowStatus.SKIPPED, texts.totals_row)
                continue
            outcome.set(number, RowStatus.REJECTED, "; ".join([reason, *warnings]))
            continue
        assert isinstance(candidate, Candidate)
        base = by_dni.get(candidate.dni)
        if base is None:
            by_dni[candidate.dni] = candidate
            continue
        conflicts = _merge(base, candidate)
        reason = texts.same_dni % {"row": base.row}
        if conflicts:
            reason += "; " + texts.kept_row % {"row": base.row, "fields": ", ".join(labels[c] for c in conflicts)}
        outcome.set(number, RowStatus.MERGED, "; ".join([reason, *candidate.warnings]), warned=bool(candidate.warnings))

    # The same phone under two DNIs: a conflict; neither row may overwrite the other.
    by_phone: dict[str, Candidate | list[Candidate]] = {}
    for candidate in by_dni.values():
        phone = candidate.phone
        if phone:
            seen = by_phone.get(phone)
            if seen is None:
                by_phone[phone] = candidate  # the common case: one owner, no list built
            elif isinstance(seen, list):
                seen.append(candidate)
            else:
                by_phone[phone] = [seen, candidate]
    candidates = []
    for candidate in by_dni.values():
        owners = by_phone.get(candidate.phone or "")
        if isinstance(owners, list):
            others = ", ".join(texts.row_dni % {"row": o.row, "dni": o.dni} for o in owners if o is not candidate)
            reject_candidate(
                candidate,
                outcome,
                texts.phone_in_file % {"phone": candidate.phone, "others": others},
                texts,
            )
            continue
        candidates.append(candidate)
    ImportBatch.objects.filter(pk=batch.pk).update(rows_done=batch.total_rows)
    return candidates, outcome, header.index + 1


def reject_candidate(candidate: Candidate, outcome: Outcome, reason: str, texts: Texts) -> None:
    outcome.set(candidate.row, RowStatus.REJECTED, "; ".join([reason, *candidate.warnings]))
    for row in candidate.merged_rows:
        outcome.set(row, RowStatus.REJECTED, texts.merged_rejected % {"row": candidate.row})
