"""The columns of a station list: which field each header names, by exact alias only.

A header is folded (case, accents, spaces and punctuation ignored) and compared whole with the
aliases of each field; a decoration in parentheses is dropped first ("Electores (total)"). There
is no prefix matching: `mesa_desde` is the start of a range, never the table number. A header
that names no field is listed as unknown, two headers that name the same field are ambiguous and
neither is used, and the lead can settle both with a mapping (header -> field, or -> "" to ignore).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from backend.core.text import header_key

# Levels of the area tree, outermost first: (kind, words that name it).
LEVELS: list[tuple[str, tuple[str, ...]]] = [
    ("distrito", ("distrito", "provincia", "district", "province")),
    ("seccion", ("seccion", "seccionelectoral", "section")),
    ("departamento", ("departamento", "depto", "dpto", "partido", "department")),
    ("circuito", ("circuito", "circuit")),
    ("localidad", ("localidad", "municipio", "ciudad", "locality", "city")),
]


_CODE_PATTERNS = (
    "{}nro",
    "{}numero",
    "{}no",
    "nro{}",
    "numero{}",
    "{}codigo",
    "codigo{}",
    "cod{}",
    "{}cod",
    "{}id",
    "id{}",
    "{}code",
    "{}number",
    "codigode{}",
    "numerode{}",
    "nrode{}",
)


def _code_keys(word: str) -> tuple[str, ...]:
    return tuple(pattern.format(word) for pattern in _CODE_PATTERNS)


def _name_keys(word: str) -> tuple[str, ...]:
    return (word, f"{word}name", f"{word}nombre", f"nombre{word}", f"nombrede{word}", f"{word}nom")


ALIASES: dict[str, tuple[str, ...]] = {}
for _kind, _words in LEVELS:
    ALIASES[f"{_kind}_code"] = tuple(k for w in _words for k in _code_keys(w))
    ALIASES[f"{_kind}_name"] = tuple(k for w in _words for k in _name_keys(w))
ALIASES.update(
    {
        "place_code": (
            "codigoestablecimiento",
            "codestablecimiento",
            "codigodeestablecimiento",
            "codigoescuela",
            "codescuela",
            "escuelanro",
            "escuelacodigo",
            "nroescuela",
            "establecimientonro",
            "establecimientocodigo",
            "nroestablecimiento",
            "placecode",
            "idestablecimiento",
            "idescuela",
        ),
        "place_name": (
            "establecimiento",
            "nombreestablecimiento",
            "nombredelestablecimiento",
            "escuela",
            "nombreescuela",
            "place",
            "pollingplace",
            "placename",
        ),
        "address": ("direccion", "domicilio", "address", "calle"),
        "locality": ("localidadestablecimiento", "localidaddelestablecimiento"),
        "table_number": (
            "mesa",
            "nromesa",
            "numeromesa",
            "numerodemesa",
            "mesanro",
            "mesanumero",
            "table",
            "tablenumber",
        ),
        "table_code": ("codigomesa", "codmesa", "idmesa", "mesacodigo", "mesaid", "codigodemesa", "tablecode"),
        "range_from": ("desde", "mesadesde", "desdemesa", "mesainicial", "primeramesa", "tablefrom", "from"),
        "range_to": ("hasta", "mesahasta", "hastamesa", "mesafinal", "ultimamesa", "tableto", "to"),
        "table_count": ("cantmesas", "cantidadmesas", "cantidaddemesas", "mesas", "nmesas", "nrodemesas", "tables"),
        "electors": ("electores", "votantes", "electors", "voters", "cantelectores", "cantidadelectores"),
        "latitude": ("latitud", "lat", "latitude", "y"),
        "longitude": ("longitud", "lon", "lng", "long", "longitude", "x"),
        "geometry": ("geom", "geometry", "geometria", "thegeom", "wkt", "wkb", "ubicacion", "location", "punto"),
    }
)
LABELS: dict[str, object] = {
    "place_code": gettext_lazy("Código establecimiento"),
    "place_name": gettext_lazy("Establecimiento"),
    "address": gettext_lazy("Dirección"),
    "locality": gettext_lazy("Localidad del establecimiento"),
    "table_number": gettext_lazy("Mesa (número)"),
    "table_code": gettext_lazy("Código de mesa"),
    "range_from": gettext_lazy("Mesa desde"),
    "range_to": gettext_lazy("Mesa hasta"),
    "table_count": gettext_lazy("Cantidad de mesas"),
    "electors": gettext_lazy("Electores"),
    "latitude": gettext_lazy("Latitud"),
    "longitude": gettext_lazy("Longitud"),
    "geometry": gettext_lazy("Geometría (WKT o WKB)"),
    "distrito_code": gettext_lazy("Distrito (código)"),
    "distrito_name": gettext_lazy("Distrito (nombre)"),
    "seccion_code": gettext_lazy("Sección (código)"),
    "seccion_name": gettext_lazy("Sección (nombre)"),
    "departamento_code": gettext_lazy("Departamento (código)"),
    "departamento_name": gettext_lazy("Departamento (nombre)"),
    "circuito_code": gettext_lazy("Circuito (código)"),
    "circuito_name": gettext_lazy("Circuito (nombre)"),
    "localidad_code": gettext_lazy("Localidad (código)"),
    "localidad_name": gettext_lazy("Localidad (nombre)"),
}
FIELDS = list(LABELS)
_KEY_TO_FIELD = {key: name for name, keys in ALIASES.items() for key in keys}
_DECORATION = re.compile(r"\([^)]*\)|\[[^\]]*\]")
HEADER_SCAN_ROWS = 30


def label(name: str) -> str:
    return str(LABELS.get(name, name))


def cell_key(cell: object) -> str:
    if not isinstance(cell, str):
        return ""
    return header_key(_DECORATION.sub(" ", cell)) or header_key(cell)


@dataclass
class Columns:
    """How one header row reads: field -> column, and every column's fate for the preview."""

    fields: dict[str, int] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    ambiguous: dict[str, list[int]] = field(default_factory=dict)
    mapped: set[int] = field(default_factory=set)  # columns the lead mapped by hand
    ignored: set[int] = field(default_factory=set)  # columns the lead chose to ignore

    def describe(self, unused: dict[int, str] | None = None) -> list[dict]:
        """One entry per non-blank header: header, field (or ""), status and a sentence."""
        by_column = {index: name for name, index in self.fields.items()}
        ambiguous = {i: name for name, indexes in self.ambiguous.items() for i in indexes}
        out = []
        for index, header in enumerate(self.headers):
            if not header:
                continue
            name = by_column.get(index, "")
            if index in self.ignored:
                status, note = "ignored", _("ignorada a pedido")
            elif index in ambiguous:
                status = "ambiguous"
                note = _("ambigua: otra columna también parece «%(field)s»; elegí cuál a mano") % {
                    "field": label(ambiguous[index])
                }
            elif unused and index in unused:
                status, note = "unused", unused[index]
            elif name:
                status = "mapped" if index in self.mapped else "used"
                note = label(name)
            else:
                status, note = "unknown", _("columna desconocida: no se importa")
            out.append({"column": index, "header": header, "field": name, "status": status, "note": note})
        return out


def read_columns(row: list, mapping: dict[str, str] | None = None) -> Columns:
    """Read one header row; `mapping` (header text -> field, "" to ignore) wins over the aliases."""
    by_key = {cell_key(h): f for h, f in (mapping or {}).items()}
    columns = Columns(headers=[str(c).strip() if c is not None else "" for c in row])
    found: dict[str, list[int]] = {}
    for index, cell in enumerate(row):
        key = cell_key(cell)
        if not key:
            continue
        if key in by_key:
            chosen = by_key[key]
            if not chosen:
                columns.ignored.add(index)
                continue
            columns.fields[chosen] = index
            columns.mapped.add(index)
            continue
        name = _KEY_TO_FIELD.get(key)
        if name is None:
            columns.unknown.append(index)
        else:
            found.setdefault(name, []).append(index)
    for name, indexes in found.items():
        if name in columns.fields:
            columns.unknown.extend(indexes)  # the lead mapped another column to this field
        elif len(indexes) == 1:
            columns.fields[name] = indexes[0]
        else:
            columns.ambiguous[name] = indexes
    return columns


def check_mapping(mapping: dict[str, str]) -> None:
    """Raise ValueError naming a field that does not exist."""
    for header, name in mapping.items():
        if name and name not in LABELS:
            raise ValueError(
                _("Campo desconocido «%(field)s» para la columna «%(header)s». Campos: %(fields)s.")
                % {"field": name, "header": header, "fields": ", ".join(FIELDS)}
            )


def parse_mapping(values: list[str]) -> dict[str, str]:
    """["Nro Mesa=table_number", "Zona="] -> {"Nro Mesa": "table_number", "Zona": ""} (command line)."""
    mapping = {}
    for value in values:
        if "=" not in value:
            raise ValueError(_("Mapeo inválido «%(value)s»: se espera COLUMNA=campo.") % {"value": value})
        header, name = value.rsplit("=", 1)
        mapping[header.strip()] = name.strip()
    check_mapping(mapping)
    return mapping
