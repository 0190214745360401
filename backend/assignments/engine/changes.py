"""The changes a plan makes against what is assigned now: created, moved, cancelled, each with its why."""

from __future__ import annotations

import numpy as np
from django.utils.translation import gettext as _

from .candidates import pair_costs
from .result import AutoAssignResult, Change
from .snapshot import ROLE_NAMES, Snapshot


def changes_list(snap: Snapshot, final, final_cost, final_reason, result: AutoAssignResult, phrase) -> list[Change]:
    """Compare the plan with what each volunteer in play holds now; counts go into `result`."""
    changes: list[Change] = []
    movable = np.nonzero(snap.vol_current_slot >= 0)[0]
    old = pair_costs(snap, movable, snap.slot_place[snap.vol_current_slot[movable]]) if len(movable) else None
    old_cost = dict(zip(movable.tolist(), old.cost.tolist(), strict=True)) if old is not None else {}
    old_reason = (
        {
            int(v): phrase(int(kd), float(c), int(lc))
            for v, kd, c, lc in zip(movable, old.kind, old.cost, old.lca, strict=True)
            if np.isfinite(c)
        }
        if old is not None
        else {}
    )

    # Plain lists: a national plan makes a hundred thousand changes, and numpy scalars are slow one by one.
    slot_place_id = snap.place_id[snap.slot_place].tolist()
    slot_table = snap.slot_table.tolist()
    slot_role = snap.slot_role.tolist()
    slot_no = snap.slot_no.tolist()

    def slot_fields(s: int) -> dict:
        return {
            "place_id": slot_place_id[s],
            "table_id": slot_table[s] or None,
            "role": ROLE_NAMES[slot_role[s]],
            "slot": slot_no[s],
        }

    final_l, current_l, vol_ids = final.tolist(), snap.vol_current_slot.tolist(), snap.vol_id.tolist()
    final_cost_l = final_cost.tolist()
    for v, (s_new, s_old, vid) in enumerate(zip(final_l, current_l, vol_ids, strict=True)):
        if s_old >= 0 and s_new == s_old:
            result.kept += 1
            continue
        if s_new >= 0 and s_old < 0:
            changes.append(
                Change(
                    kind="created",
                    volunteer_id=vid,
                    reason=final_reason[v],
                    cost_m=final_cost_l[v],
                    **slot_fields(s_new),
                )
            )
            continue
        if s_old < 0:
            continue
        old_slot = slot_fields(s_old)
        before = old_cost.get(v, np.inf)
        if s_new >= 0:
            if snap.slot_place[s_new] == snap.slot_place[s_old] and snap.slot_role[s_new] != snap.slot_role[s_old]:
                why = _("pasa a fiscal general de su establecimiento: el general se cubre primero")
            elif snap.slot_place[s_new] == snap.slot_place[s_old]:
                why = _("pasa a otra mesa del mismo establecimiento, con más prioridad o más electores")
            elif final_cost[v] < before:
                why = _("le queda más cerca: %(new)s (antes %(old)s)") % {
                    "new": final_reason[v],
                    "old": old_reason.get(v, "?"),
                }
            else:
                why = _("se mueve para que se cubran más puestos")
            changes.append(
                Change(
                    kind="moved",
                    volunteer_id=vid,
                    assignment_id=int(snap.vol_current_assignment[v]),
                    reason=final_reason[v],
                    why=why,
                    cost_m=float(final_cost[v]),
                    from_place_id=old_slot["place_id"],
                    from_table_id=old_slot["table_id"],
                    **slot_fields(s_new),
                )
            )
        else:
            changes.append(
                Change(
                    kind="cancelled",
                    volunteer_id=vid,
                    assignment_id=int(snap.vol_current_assignment[v]),
                    why=_("su puesto queda para alguien mejor ubicado/a"),
                    from_place_id=old_slot["place_id"],
                    from_table_id=old_slot["table_id"],
                    role=old_slot["role"],
                    slot=old_slot["slot"],
                )
            )
    for aid, vid, problems in snap.dropped:
        changes.append(
            Change(
                kind="cancelled",
                volunteer_id=vid,
                assignment_id=aid,
                why=_("ya no puede ser asignado/a: %(problems)s") % {"problems": ", ".join(problems)},
            )
        )
    result.created = sum(1 for c in changes if c.kind == "created")
    result.moved = sum(1 for c in changes if c.kind == "moved")
    result.cancelled = sum(1 for c in changes if c.kind == "cancelled")
    return changes
