"""Result sheets by SMS, for watchers without data.

The format (one category per message; words and numbers separated by spaces):

    ACTA <mesa> <CAT> <lista 1> <lista 2> ... <lista N> B <blancos> N <nulos> R <recurridos> I <impugnados> V <votantes>

- `<mesa>` may be left out by a watcher with one table; `<CAT>` is the category's short code
  (PRE, GOB, DN...), shown on the watcher's page beside the lists in sheet order;
- the list votes come in the sheet's order, right after the code;
- the totals are a letter and a number, in any order: B blank, N null, R recurridos (contested),
  I impugnados (challenged), V votantes (T or TOTAL also accepted);
- a later message with letters only ("ACTA 1234 GOB V 228") completes the last incomplete sheet
  sent from the same phone for that table and category: what is missing is asked field by field.

Example: `ACTA 1234 GOB 4 5 0 6 65 12 69 0 29 1 17 0 B 6 N 9 R 5 I 0 V 228`.
A photo of the sheet (an MMS) with `ACTA 1234 GOB` goes to the double-entry transcription desk.
The reply says what was understood and what is missing or does not add up.
"""

import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from backend.assignments.models import AssignmentRole
from backend.core.exceptions import ApplicationError
from backend.core.text import fold
from backend.count.models import BallotList, Category, ResultSheet, SheetSource, SheetStatus
from backend.count.selectors import (
    assignment_tables_for_volunteer,
    ballot_list_for_table,
    category_get_by_code,
)
from backend.count.services import FIELD_LABELS, SheetFigures, sheet_photo_submit, sheet_submit_to_table
from backend.elections.models import Table
from backend.elections.selectors import table_get_with_area
from backend.messaging.encoding import transliterate
from backend.permissions import Duty, can_submit_sheet
from backend.volunteers.models import Volunteer

LETTERS = {
    "b": "blank",
    "n": "null",
    "r": "contested",
    "i": "challenged",
    "v": "voters",
    "t": "voters",
    "total": "voters",
}
SAY = {"blank": "B", "null": "N", "contested": "R", "challenged": "I", "voters": "V"}


@dataclass
class SheetSms:
    table_number: int | None
    category_code: str
    list_votes: list[int] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def sheet_sms_parse(body: str) -> SheetSms | None:
    """A result sheet in `body`, or None when it is not one (a plain "ACTA" or "ACTA 1234" is the
    table's "sheet sent" report, handled elsewhere)."""
    words = fold(body).replace("=", " ").split()
    if len(words) < 3 or words[0] != "acta":
        return None
    rest = words[1:]
    table_number = None
    if rest[0].isdigit():
        table_number = int(rest[0])
        rest = rest[1:]
    # A code, then numbers or a total's letter: "acta enviada mesa 3" stays the table's report.
    if len(rest) < 2 or rest[0].isdigit() or not (rest[1].isdigit() or rest[1] in LETTERS or _glued(rest[1])):
        return None
    parsed = SheetSms(table_number=table_number, category_code=rest[0].upper())
    rest = rest[1:]
    index = 0
    while index < len(rest) and rest[index].isdigit():
        parsed.list_votes.append(int(rest[index]))
        index += 1
    while index < len(rest):
        word = rest[index]
        letter = LETTERS.get(word)
        if letter is None and _glued(word):  # "B6" written together
            letter, rest[index : index + 1] = LETTERS[word[:1]], [word[:1], word[1:]]
        if letter is None or index + 1 >= len(rest) or not rest[index + 1].isdigit():
            parsed.problems.append(word.upper())
            index += 1
            continue
        parsed.totals[letter] = int(rest[index + 1])
        index += 2
    return parsed


def sheet_photo_sms_parse(body: str) -> tuple[int | None, str] | None:
    """(table number or None, category code) of "ACTA [mesa] <CAT>" sent with a photo (an MMS), else None."""
    words = fold(body).split()
    if not 2 <= len(words) <= 3 or words[0] != "acta" or words[-1].isdigit():
        return None
    if len(words) == 3 and not words[1].isdigit():
        return None
    return (int(words[1]) if len(words) == 3 else None), words[-1].upper()


def sheet_photo_sms_command(*, volunteer: Volunteer, parsed: tuple[int | None, str], photos: list) -> str:
    """An MMS photo of the sheet: stored for double-entry transcription."""
    number, code = parsed
    duties = assignment_tables_for_volunteer(volunteer_id=volunteer.pk)
    table = _table_for(duties, number)
    if isinstance(table, str):
        return _sms(table)
    if not can_submit_sheet(volunteer.user, table, duties=duties):
        return _sms(_("Fiscaliza: no podés cargar el acta de la mesa %(number)s.") % {"number": table.number})
    category = Category.objects.filter(election_id=table.election_id, code__iexact=code).first()
    if category is None:
        codes = " ".join(Category.objects.filter(election_id=table.election_id).values_list("code", flat=True))
        return _sms(_("Fiscaliza: no conozco la categoría %(code)s. Usá: %(codes)s") % {"code": code, "codes": codes})
    try:
        for _content_type, data in photos:
            sheet_photo_submit(
                table=table, category=category, photo=io.BytesIO(data), source=SheetSource.SMS, actor=volunteer.user
            )
    except ApplicationError as exc:
        return _sms(f"Fiscaliza: {exc.message}")
    return _sms(
        _(
            "Fiscaliza: recibimos la foto del acta de la mesa %(number)s (%(code)s). "
            "La cargamos y te avisamos si falta algo."
        )
        % {"number": table.number, "code": category.code}
    )


def _figures(
    table: Table, category: Category, lists: list[BallotList], volunteer: Volunteer, parsed: SheetSms
) -> SheetFigures:
    """The sheet's figures: the list votes in the sheet's order, or (letters only) the last incomplete
    sheet this person sent for this table and category, completed by the totals given."""
    figures = SheetFigures()
    if not parsed.list_votes:
        earlier = (
            ResultSheet.objects.filter(
                table=table, category=category, source=SheetSource.SMS, actor=volunteer.user, status=SheetStatus.FLAGGED
            )
            .order_by("-id")
            .first()
        )
        if earlier is not None:
            figures.votes = {int(k): v for k, v in earlier.votes.items()}
            for name in FIELD_LABELS:
                setattr(figures, name, getattr(earlier, name))
    elif len(parsed.list_votes) > len(lists):
        raise _Answer(
            _("Fiscaliza: mandaste %(got)s números de listas y el acta de %(code)s tiene %(n)s. Revisá y reenviá.")
            % {"got": len(parsed.list_votes), "code": category.code, "n": len(lists)}
        )
    else:
        figures.votes = {bl.pk: v for bl, v in zip(lists, parsed.list_votes, strict=False)}
    for name, value in parsed.totals.items():
        setattr(figures, name, value)
    return figures


def _glued(word: str) -> bool:
    return word[:1] in LETTERS and word[1:].isdigit()


def _sms(text: str) -> str:
    return transliterate(text)[:320]


def _table_id_for(assignments: list[Duty], number: int | None) -> int | str:
    """The id of the sender's table among their active assignments (`number` None: their only table),
    or why not."""
    if not assignments:
        return _("Fiscaliza: no tenés una mesa asignada.")
    own = [(table_id, n) for _e, role, _p, table_id, n in assignments if role == AssignmentRole.TABLE and table_id]
    if number is None:
        if len(own) != 1:
            return _("Fiscaliza: indicá la mesa, por ejemplo: ACTA 1234 GOB 10 20 ... V 228")
        return own[0][0]
    if own_id := next((table_id for table_id, n in own if n == number), None):
        return own_id
    place_ids = [place_id for _e, role, place_id, _t, _n in assignments if role == AssignmentRole.PLACE]
    found = (
        Table.objects.filter(election_id=assignments[0][0], place_id__in=place_ids, number=number)
        .values_list("pk", flat=True)
        .first()
    )
    return found or _("Fiscaliza: la mesa %(number)s no es tuya. Revisá el número.") % {"number": number}


def _table_for(assignments: list[Duty], number: int | None) -> Table | str:
    """The sender's table (with its place and area) among their active assignments, or why not."""
    found = _table_id_for(assignments, number)
    if isinstance(found, str):
        return found
    return table_get_with_area(pk=found) or _("Fiscaliza: la mesa %(number)s no es tuya. Revisá el número.") % {
        "number": number
    }


class _Answer(ApplicationError):
    """A refusal whose message is the whole SMS reply."""


@dataclass
class _Read:
    """What the command worked out once its table was read and locked: for the reply."""

    table: Table
    category: Category
    lists: list[BallotList]
    figures: SheetFigures


def sheet_sms_command(*, volunteer: Volunteer, parsed: SheetSms) -> str:
    """Store the sheet through `backend.count.services.sheet_submit_to_table` and say what was understood."""
    # The sender's assignments find the table and, already read, answer the permission too.
    duties = assignment_tables_for_volunteer(volunteer_id=volunteer.pk)
    table_id = _table_id_for(duties, parsed.table_number)
    if isinstance(table_id, str):
        return _sms(table_id)
    read: list[_Read] = []

    def admit(table: Table) -> tuple[Category, SheetFigures]:
        # Under the table's lock (read with it, in one statement): the permission, the category and
        # the figures in its lists' sheet order.
        if not can_submit_sheet(volunteer.user, table, duties=duties):
            raise _Answer(_("Fiscaliza: no podés cargar el acta de la mesa %(number)s.") % {"number": table.number})
        category = category_get_by_code(election_id=table.election_id, code=parsed.category_code)
        if category is None:
            codes = " ".join(Category.objects.filter(election_id=table.election_id).values_list("code", flat=True))
            raise _Answer(
                _("Fiscaliza: no conozco la categoría %(code)s. Usá: %(codes)s")
                % {"code": parsed.category_code, "codes": codes}
            )
        lists = ballot_list_for_table(table=table, category=category)
        read.append(_Read(table, category, lists, _figures(table, category, lists, volunteer, parsed)))
        return category, read[0].figures

    try:
        result = sheet_submit_to_table(table_id=table_id, admit=admit, source=SheetSource.SMS, actor=volunteer.user)
    except _Answer as answer:
        return _sms(str(answer.message))
    except ApplicationError as exc:
        return _sms(f"Fiscaliza: {exc.message}")
    except Table.DoesNotExist:
        return _sms(_("Fiscaliza: la mesa %(number)s no es tuya. Revisá el número.") % {"number": parsed.table_number})
    table, category, lists, figures = read[0].table, read[0].category, read[0].lists, read[0].figures
    got = len([v for v in figures.votes.values() if v is not None])
    understood = " ".join(f"{SAY[name]} {getattr(figures, name)}" for name in SAY if getattr(figures, name) is not None)
    head = _("Fiscaliza: mesa %(number)s %(code)s: %(got)s de %(n)s listas, %(understood)s.") % {
        "number": table.number,
        "code": category.code,
        "got": got,
        "n": len(lists),
        "understood": understood,
    }
    if parsed.problems:
        head += " " + _("No entendí: %(words)s.") % {"words": " ".join(parsed.problems)}
    if result.accepted:
        return _sms(head + " " + _("Recibida, gracias."))
    missing_totals = [SAY[name] for name in SAY if getattr(figures, name) is None]
    if got < len(lists):
        return _sms(
            head
            + " "
            + _("Faltan listas: reenviá ACTA %(number)s %(code)s con los %(n)s números en orden.")
            % {"number": table.number, "code": category.code, "n": len(lists)}
        )
    if missing_totals:
        # Field by field: ask for the first missing one; the answer completes this sheet.
        first = missing_totals[0]
        return _sms(
            head
            + " "
            + _("Falta %(field)s. Respondé: ACTA %(number)s %(code)s %(field)s <número>")
            % {"field": first, "number": table.number, "code": category.code}
        )
    reasons = " ".join(flag.message for flag in result.flags)
    return _sms(head + " " + _("No cierra: %(reasons)s Revisá y reenviá.") % {"reasons": reasons})
