"""How the volunteer's texts come out for real school names: one segment or two, name whole or not.

Shared by bench/texts_national.py (the national list) and its test (a sample in fixtures/).
"""

import itertools
import re
from dataclasses import dataclass, field

from .encoding import transliterate
from .models import TemplateKind
from .texts import DEFAULT_TEXTS, render, school_abbreviate

# Texts that name the school, with the context a real notice has.
KINDS_WITH_SCHOOL = (
    TemplateKind.ASSIGNMENT,
    TemplateKind.CHANGE,
    TemplateKind.REMINDER,
    TemplateKind.REMINDER_EVE,
    TemplateKind.INFO,
    TemplateKind.CONFIRMATION_RECEIVED,
    TemplateKind.ASK_CONFIRM,
    TemplateKind.SHIFT_INCOMING,
    TemplateKind.SHIFT_CHANGED,
)
# Common Argentine first names of every length: the name is the other field that varies.
FIRST_NAMES = ("María", "Juan", "Micaela", "Maximiliano", "Sol", "Florencia", "Agustín", "Ana", "Guadalupe", "Lucas")
_SPACES = re.compile(r"\s+")


@dataclass
class Tally:
    texts: int = 0
    one_segment: int = 0
    full_name: int = 0
    abbreviated: int = 0
    longest: tuple[int, str] = (0, "")
    cut: list[str] = field(default_factory=list)

    def share(self, count: int) -> float:
        return count / self.texts if self.texts else 0.0


def school_context(row: dict, index: int, *, link: str) -> dict:
    table = row.get("desde") or "1"
    return {
        "nombre": FIRST_NAMES[index % len(FIRST_NAMES)],
        "escuela": row["escuela"],
        "direccion": row.get("direccion", ""),
        "mesa": table,
        "rol": f"de mesa {table}",
        "dia": "Dom 11/08",
        "hora": "7:30",
        "estado": "Notificada",
        "otro": "Maximiliano Fernández",
        "texto": "turno mañana",  # the longest shift name, the one text of the list that carries one
        "link": link,
    }


def carries_full_name(body: str, name: str) -> tuple[bool, bool]:
    """(the whole official name is in the text, it is there with the field's abbreviations)."""
    official = transliterate(_SPACES.sub(" ", name).strip())
    if official in body:
        return True, False
    return school_abbreviate(official) in body, True


def measure(rows, *, kind: str = TemplateKind.ASSIGNMENT, link: str) -> Tally:
    tally = Tally()
    template = str(DEFAULT_TEXTS[kind])
    for index, row in enumerate(rows):
        rendered = render(template, school_context(row, index, link=link))
        tally.texts += 1
        tally.one_segment += rendered.segments == 1
        whole, abbreviated = carries_full_name(rendered.body, row["escuela"])
        tally.full_name += whole
        tally.abbreviated += whole and abbreviated
        if not whole:
            tally.cut.append(row["escuela"])
        if len(rendered.body) > tally.longest[0]:
            tally.longest = (len(rendered.body), rendered.body)
    return tally


def example_link(base_url: str) -> str:
    return base_url.rstrip("/") + "/" + "".join(itertools.islice(itertools.cycle("Xk7pQ2mZ9aR4"), 22))
