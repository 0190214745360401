"""What a run of auto-assign reports: its changes, counts per area, coverage before and after."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from backend.elections.models import PollingPlace, Table
from backend.volunteers.models import Volunteer

from .snapshot import Snapshot

# How many individual changes a result lists (counts are always exact).
CHANGES_LISTED = 500


@dataclass
class Change:
    kind: str  # created | moved | cancelled
    volunteer_id: int
    assignment_id: int | None = None
    place_id: int | None = None
    table_id: int | None = None
    role: str = ""
    slot: int = 0
    reason: str = ""  # why this volunteer fits this slot
    why: str = ""  # why it changed (moves and cancellations)
    from_place_id: int | None = None
    from_table_id: int | None = None
    cost_m: float | None = None
    volunteer: str = ""
    place: str = ""
    table_number: int | None = None
    from_place: str = ""
    from_table_number: int | None = None


@dataclass
class AreaCount:
    area_id: int
    code: str
    name: str
    slots: int
    before: int
    after: int


@dataclass
class AutoAssignResult:
    election_id: int
    area_id: int | None
    dry_run: bool
    method: str
    slots: int = 0
    fixed: int = 0
    covered_before: int = 0
    covered_after: int = 0
    created: int = 0
    moved: int = 0
    cancelled: int = 0
    kept: int = 0
    volunteers: int = 0
    candidates: int = 0
    travel_total_m: float = 0.0
    travel_p90_m: float = 0.0
    by_area: list[AreaCount] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def coverage_before(self) -> float:
        return self.covered_before / self.slots if self.slots else 0.0

    @property
    def coverage_after(self) -> float:
        return self.covered_after / self.slots if self.slots else 0.0

    def as_dict(self) -> dict:
        data = asdict(self)
        data["coverage_before"] = round(self.coverage_before, 4)
        data["coverage_after"] = round(self.coverage_after, 4)
        return data


def result_summarise(snap: Snapshot, final, final_cost, result: AutoAssignResult) -> None:
    after = snap.slot_taken_fixed.copy()
    after[final[final >= 0]] = True
    # A dropped assignment's slot was covered before and is free in the plan unless re-filled.
    result.slots = len(snap.slot_place)
    result.fixed = int(snap.slot_taken_fixed.sum())
    result.covered_before = int(snap.slot_taken_before.sum())
    result.covered_after = int(after.sum())
    costs = final_cost[final >= 0]
    costs = costs[np.isfinite(costs)]
    result.travel_total_m = float(costs.sum()) if len(costs) else 0.0
    result.travel_p90_m = float(np.percentile(costs, 90)) if len(costs) else 0.0
    # Counts per area one level below the scope (per district for a whole election with several).
    if not len(snap.slot_place):
        return
    roots = np.nonzero(snap.area_depth == 0)[0]
    level = (snap.scope.depth + 1) if snap.scope is not None else (0 if len(roots) > 1 else 1)
    level = min(level, snap.area_anc.shape[1] - 1)
    slot_area = snap.place_area[snap.slot_place]
    report = snap.area_anc[slot_area, level]
    report = np.where(report >= 0, report, slot_area)
    uniq, inv = np.unique(report, return_inverse=True)
    slots = np.bincount(inv, minlength=len(uniq))
    before = np.bincount(inv, weights=snap.slot_taken_before, minlength=len(uniq))
    after_c = np.bincount(inv, weights=after, minlength=len(uniq))
    result.by_area = sorted(
        (
            AreaCount(
                area_id=int(snap.area_id[a]),
                code=snap.area_code[a],
                name=snap.area_name[a],
                slots=int(slots[i]),
                before=int(before[i]),
                after=int(after_c[i]),
            )
            for i, a in enumerate(uniq.tolist())
        ),
        key=lambda c: c.name,
    )


def changes_describe(result: AutoAssignResult, changes_all: list[Change], *, limit: int = CHANGES_LISTED) -> None:
    """Fill names into the first `limit` changes (moves and cancellations first) for people to read."""
    ordered = sorted(changes_all, key=lambda c: {"moved": 0, "cancelled": 1, "created": 2}[c.kind])[:limit]
    vol_ids = {c.volunteer_id for c in ordered}
    place_ids = {p for c in ordered for p in (c.place_id, c.from_place_id) if p}
    table_ids = {t for c in ordered for t in (c.table_id, c.from_table_id) if t}
    names = {
        pk: f"{f} {last}".strip()
        for pk, f, last in Volunteer.objects.filter(pk__in=vol_ids).values_list("pk", "first_name", "last_name")
    }
    places = dict(PollingPlace.objects.filter(pk__in=place_ids).values_list("pk", "name"))
    tables = dict(Table.objects.filter(pk__in=table_ids).values_list("pk", "number"))
    for c in ordered:
        c.volunteer = names.get(c.volunteer_id, "")
        c.place = places.get(c.place_id, "") if c.place_id else ""
        c.table_number = tables.get(c.table_id) if c.table_id else None
        c.from_place = places.get(c.from_place_id, "") if c.from_place_id else ""
        c.from_table_number = tables.get(c.from_table_id) if c.from_table_id else None
    result.changes = ordered
