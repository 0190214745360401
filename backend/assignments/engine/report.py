"""A run's summary in words, for the command line and logs (the API returns the same data as JSON)."""

from django.utils.translation import gettext as _

from .result import AutoAssignResult


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%".replace(".", ",") if whole else "-"


def _where(place: str, table) -> str:
    if not place:
        return "-"
    return (
        _("%(place)s, mesa %(table)s") % {"place": place, "table": table}
        if table
        else _("%(place)s (general)") % {"place": place}
    )


def summary_lines(result: AutoAssignResult, *, changes: int = 30) -> list[str]:
    head = _("Simulación (no se guardó nada)") if result.dry_run else _("Asignación aplicada")
    lines = [
        head,
        _("Puestos: %(slots)s (fijos: %(fixed)s)") % {"slots": result.slots, "fixed": result.fixed},
        _("Cobertura antes: %(n)s (%(pct)s)")
        % {"n": result.covered_before, "pct": _pct(result.covered_before, result.slots)},
        _("Cobertura después: %(n)s (%(pct)s)")
        % {"n": result.covered_after, "pct": _pct(result.covered_after, result.slots)},
        _("Nuevas: %(created)s · movidas: %(moved)s · canceladas: %(cancelled)s · sin cambios: %(kept)s")
        % {"created": result.created, "moved": result.moved, "cancelled": result.cancelled, "kept": result.kept},
        _("Distancia total: %(total)s km · p90: %(p90)s km")
        % {
            "total": f"{result.travel_total_m / 1000:.1f}".replace(".", ","),
            "p90": f"{result.travel_p90_m / 1000:.1f}".replace(".", ","),
        },
        "",
        _("Por área:"),
    ]
    for a in result.by_area:
        lines.append(
            f"  {a.name}: {a.before} → {a.after} / {a.slots} ({_pct(a.before, a.slots)} → {_pct(a.after, a.slots)})"
        )
    listed = [c for c in result.changes if c.kind != "created"][:changes]
    listed += [c for c in result.changes if c.kind == "created"][: max(0, changes - len(listed))]
    if listed:
        lines += ["", _("Cambios:")]
    for c in listed:
        if c.kind == "created":
            lines.append(
                _("  + %(who)s → %(to)s: %(reason)s")
                % {"who": c.volunteer, "to": _where(c.place, c.table_number), "reason": c.reason}
            )
        elif c.kind == "moved":
            lines.append(
                _("  ~ %(who)s: %(from)s → %(to)s: %(why)s")
                % {
                    "who": c.volunteer,
                    "from": _where(c.from_place, c.from_table_number),
                    "to": _where(c.place, c.table_number),
                    "why": c.why,
                }
            )
        else:
            lines.append(
                _("  - %(who)s deja %(from)s: %(why)s")
                % {"who": c.volunteer, "from": _where(c.from_place, c.from_table_number), "why": c.why}
            )
    hidden = result.created + result.moved + result.cancelled - len(listed)
    if hidden > 0:
        lines.append(_("  … y %(n)s cambios más") % {"n": hidden})
    lines.append(_("Tiempos: %(t)s") % {"t": ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())})
    return lines
