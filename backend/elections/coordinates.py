"""Coordinates of polling places as station lists carry them, checked before anything is stored.

A list gives latitude and longitude in two columns (point or comma decimals) or one geometry
column as PostGIS exports it: WKT (`POINT(-58.37 -34.62)`, optionally `SRID=4326;`) or (E)WKB in
hex. What cannot be a place in Argentina is flagged with a reason and never stored: text such as
"lat", a number that lost its decimal point (-58362), a point outside the country, and (checked
once all places are read) a point implausibly far from the other places of its own area.
"""

from __future__ import annotations

import math
import re
import statistics
import struct
from collections.abc import Iterable

from django.utils.translation import gettext as _

# Mainland, Tierra del Fuego and the South Atlantic islands, with a margin of a few kilometres.
LAT_MIN, LAT_MAX = -55.2, -21.7
LON_MIN, LON_MAX = -73.7, -53.5
# The Argentine Antarctic sector and the South Orkneys: Antarctic bases vote in Tierra del Fuego.
ANTARCTIC_LAT_MAX, ANTARCTIC_LON_MIN, ANTARCTIC_LON_MAX = -60.0, -74.0, -25.0
# A place this far from the median point of the other places of its section is a geocoding error
# (the largest sections of Patagonia are about 300 km across).
FAR_KM = 250.0
MIN_NEIGHBOURS = 4

_WKT_POINT = re.compile(
    r"^\s*(?:SRID=(\d+)\s*;\s*)?POINT\s*Z?M?\s*\(\s*([-+]?[\d.]+(?:[eE][-+]?\d+)?)\s+([-+]?[\d.]+(?:[eE][-+]?\d+)?)"
    r"(?:\s+[-+]?[\d.eE]+)*\s*\)\s*$",
    re.IGNORECASE,
)
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class CoordinateProblem(ValueError):
    """A coordinate that must not be stored; the message says why, for the lead."""


def _number(value: object, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise CoordinateProblem(_("%(what)s no es un número: «%(value)s»") % {"what": what, "value": value})
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise CoordinateProblem(
                _("%(what)s tiene texto en lugar de un número: «%(value)s»") % {"what": what, "value": text[:40]}
            ) from None
    if math.isnan(number) or math.isinf(number):
        raise CoordinateProblem(_("%(what)s no es un número: «%(value)s»") % {"what": what, "value": value})
    return number


def _check(latitude: float, longitude: float, raw: str) -> tuple[float, float]:
    if abs(latitude) > 90 or abs(longitude) > 180:
        if float(latitude).is_integer() or float(longitude).is_integer():
            raise CoordinateProblem(_("coordenada sin punto decimal: «%(value)s»") % {"value": raw})
        raise CoordinateProblem(_("coordenada fuera de rango: «%(value)s»") % {"value": raw})
    if not (LAT_MIN <= latitude <= LAT_MAX and LON_MIN <= longitude <= LON_MAX) and not in_antarctica(
        (latitude, longitude)
    ):
        raise CoordinateProblem(_("la ubicación (%(value)s) queda fuera de la Argentina") % {"value": raw})
    return latitude, longitude


def parse_lat_lon(latitude: object, longitude: object) -> tuple[float, float] | None:
    """(lat, lon) from two cells, None when both are blank; raise CoordinateProblem otherwise."""
    lat = _number(latitude, _("la latitud"))
    lon = _number(longitude, _("la longitud"))
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise CoordinateProblem(_("falta la latitud o la longitud"))
    return _check(lat, lon, f"{latitude}, {longitude}")


def _ewkb(data: bytes) -> tuple[float, float, int | None]:
    """(x, y, srid) of a WKB or PostGIS EWKB point."""
    if len(data) < 21:
        raise CoordinateProblem(_("geometría incompleta"))
    order = "<" if data[0] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", data, 1)
    offset, srid = 5, None
    if kind & 0x20000000:
        (srid,) = struct.unpack_from(order + "I", data, offset)
        offset += 4
    if (kind & 0x0FFFFFFF) % 1000 != 1:  # 1 point; 1001, 2001, 3001 with Z and M (ISO)
        raise CoordinateProblem(_("la geometría no es un punto"))
    if len(data) < offset + 16:
        raise CoordinateProblem(_("geometría incompleta"))
    x, y = struct.unpack_from(order + "dd", data, offset)
    return x, y, srid


def parse_geometry(value: object) -> tuple[float, float] | None:
    """(lat, lon) from a WKT or (E)WKB hex point in WGS 84; None when blank."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    match = _WKT_POINT.match(text)
    if match:
        srid = int(match.group(1)) if match.group(1) else None
        x, y = float(match.group(2)), float(match.group(3))
    elif _HEX.match(text) and len(text) % 2 == 0:
        x, y, srid = _ewkb(bytes.fromhex(text))
    else:
        raise CoordinateProblem(_("geometría ilegible: «%(value)s»") % {"value": text[:40]})
    if srid not in (None, 4326):
        raise CoordinateProblem(_("geometría en SRID %(srid)s: se espera 4326 (WGS 84)") % {"srid": srid})
    return _check(y, x, f"{y}, {x}")


def in_antarctica(point: tuple[float, float]) -> bool:
    return point[0] <= ANTARCTIC_LAT_MAX and ANTARCTIC_LON_MIN <= point[1] <= ANTARCTIC_LON_MAX


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


def far_from_their_area(points: Iterable[tuple[object, str, tuple[float, float]]]) -> dict[object, float]:
    """Keys of the points over FAR_KM from the median point of their group, with the distance in km.

    `points` are (key, group, (lat, lon)); the median resists the few wrong points themselves.
    Antarctic bases are hundreds of kilometres apart by nature and are not compared.
    """
    groups: dict[str, list[tuple[object, tuple[float, float]]]] = {}
    for key, group, point in points:
        if in_antarctica(point):
            continue
        groups.setdefault(group, []).append((key, point))
    far: dict[object, float] = {}
    for members in groups.values():
        if len(members) < MIN_NEIGHBOURS:
            continue
        centre = (
            statistics.median(p[0] for _k, p in members),
            statistics.median(p[1] for _k, p in members),
        )
        for key, point in members:
            km = distance_km(centre, point)
            if km > FAR_KM:
                far[key] = km
    return far
