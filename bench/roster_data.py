"""Messy rosters like the ones leads really send, for the demo fixture and the benchmark.

Deterministic (seeded). Uses the real polling places of fixtures/cordoba-2019-mesas.xlsx: "vota en"
is written as an official code, as the place's name, or as a misspelt name, next to its locality.
Run as a script to (re)write fixtures/roster-sample.xlsx:

    python bench/roster_data.py [--rows 60] [--out fixtures/roster-sample.xlsx]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from backend.core.text import fold

ROOT = Path(__file__).resolve().parent.parent
STATIONS = ROOT / "fixtures" / "cordoba-2019-mesas.xlsx"

FIRST = ["María José", "Juan Pablo", "Lucía", "Martín", "Sofía", "Valentina", "Lucas", "Camila", "Mateo", "Julieta"]
FIRST += ["Santiago", "Florencia", "Facundo", "Agustina", "Nicolás", "Carolina", "Pablo", "Micaela", "Ana Laura"]
LAST = ["González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez", "García", "Sánchez"]
LAST += ["Romero", "Sosa", "Torres", "Álvarez", "Ruiz", "de la Fuente", "Flores", "Benítez", "Acosta", "Medina"]
AVAILABILITY = ["Todo el día", "mañana", "Tarde", "solo a la mañana", "de 8 a 13", "TODO EL DIA", "", "no puedo", "?"]
ROLES = ["Fiscal de mesa", "fiscal general", "cualquiera", "Mesa", "", "General", "mesa o general"]


def places() -> list[tuple[str, str, str]]:
    """(code, name, locality) of every polling place in the Córdoba file."""
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(STATIONS)).get_sheet_by_index(0).to_python()
    seen: dict[str, tuple[str, str, str]] = {}
    for row in rows[1:]:
        seen.setdefault(str(row[3]), (str(row[3]), str(row[4]), str(row[2])))
    return list(seen.values())


def _phone(rng: random.Random, i: int) -> object:
    area, local = ("351", f"{6_000_000 + i % 3_900_000:07d}") if i % 3 else ("11", f"{50_000_000 + i:08d}")
    style = rng.randrange(9)
    national = area + local
    return [
        f"0{area} 15 {local[:-4]}-{local[-4:]}",
        f"+54 9 {area} {local[:-4]} {local[-4:]}",
        int("549" + national),
        f"({area}) {local[:-4]}-{local[-4:]}",  # written like a landline: stored as mobile with a warning
        f"cel: 0{area}-15-{local}",
        f"549{national}",
        f"{area}15{local}",
        f"+549{national}",
        f"0{area}-15{local}",
    ][style]


def _dni(rng: random.Random, number: int) -> object:
    text = f"{number:,}".replace(",", ".")
    return [text, number, float(number), f"DNI {number}", text.replace(".", " "), str(number)][rng.randrange(6)]


def _note(rng: random.Random, messy: bool) -> str:
    if rng.random() < 0.9:
        return ""
    return '=HYPERLINK("http://x")' if messy and rng.random() < 0.1 else "auto propio"


def _vote(rng: random.Random, place: tuple[str, str, str]) -> str:
    code, name, _town = place
    choice = rng.random()
    if choice < 0.25:
        return code
    if choice < 0.45:
        return name.title()
    if choice < 0.6 and len(name) > 8:
        cut = rng.randrange(3, len(name) - 3)
        return (name[:cut] + name[cut + 1 :]).lower()  # a typo
    return ""


def roster_rows(count: int, *, seed: int = 2027, messy: bool = True, mess: float = 1.0) -> tuple[list, list]:
    """(title rows, header + data rows) of a roster with `count` people (plus duplicates and junk when messy)."""
    rng = random.Random(seed)
    all_places = places()
    title = [["Padrón de fiscales - Córdoba"], ["Exportado de AppSheet"], []]
    header = ["N°", "Apellido y Nombre", "D.N.I.", "Celular", "E-mail", "Localidad", "Escuela donde vota"]
    header += ["Disponibilidad", "Rol", "Notas"]
    rows: list[list] = [header]
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{last.upper()}, {first}" if rng.random() < 0.5 else f"{first} {last}"
        place = rng.choice(all_places)
        email = f"{fold(first).split()[0]}.{i}@example.org"
        if messy and rng.random() < 0.02 * mess:
            email = email.replace("@", " at ")
        rows.append(
            [
                i + 1,
                name,
                _dni(rng, 25_000_000 + i * 7),
                _phone(rng, i),
                email,
                place[2],
                _vote(rng, place),
                rng.choice(AVAILABILITY),
                rng.choice(ROLES),
                _note(rng, messy),
            ]
        )
        if not messy:
            continue
        roll = rng.random()
        if roll < 0.01 * mess:  # the same person twice
            rows.append(list(rows[-1]))
        elif roll < 0.015 * mess:  # a DNI typo
            rows.append([i + 1, name, "30.123", _phone(rng, i + 7_000_000), "", "", "", "", "", ""])
        elif roll < 0.02 * mess:  # a blank row in the middle
            rows.append([None] * len(header))
        elif roll < 0.022 * mess:  # a phone without area code
            rows.append([i + 1, name, 10_000_000 + i, "15-4567-8901", "", "", "", "", "", ""])
    if messy:
        rows.append(["TOTAL", len(rows) - 1, "", "", "", "", "", "", "", ""])
    return title, rows


def write_xlsx(path: Path, count: int, *, seed: int = 2027, messy: bool = True, mess: float = 1.0) -> Path:
    from openpyxl import Workbook

    title, rows = roster_rows(count, seed=seed, messy=messy, mess=mess)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Fiscales")
    for row in title + rows:
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60)
    parser.add_argument("--out", default=str(ROOT / "fixtures" / "roster-sample.xlsx"))
    args = parser.parse_args()
    print(write_xlsx(Path(args.out), args.rows, mess=8.0))
