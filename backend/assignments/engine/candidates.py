"""Candidate generation: the k best places for each volunteer, by cost, vectorised.

Cost is 0 where the volunteer votes; great-circle distance when both sides have coordinates (a
KD-tree per district); otherwise distance in the area tree. Never across districts. Ties in the
tree (every school of a city is "misma localidad") are spread by rotating each volunteer's window
over the tied places, so a city's volunteers do not all compete for the same ten schools.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .rules import EARTH_RADIUS_M, KIND_GEO, KIND_TREE, great_circle_m, pair_cost_arrays
from .snapshot import Snapshot


@dataclass
class Candidates:
    vol: np.ndarray
    place: np.ndarray
    cost: np.ndarray  # metres
    kind: np.ndarray
    lca: np.ndarray  # area index of the lowest common area (tree costs), -1 otherwise

    def __len__(self) -> int:
        return len(self.vol)


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _cost(n: int, *, geo_m=None, levels_up=None) -> np.ndarray:
    """The one cost rule (rules.pair_cost_arrays) over generated candidates, by distance or by tree levels.

    Where each volunteer votes is added as a forced pair (see `candidates_build`), so it is not looked
    for here."""
    cost, _kind = pair_cost_arrays(
        votes_here=np.zeros(n, dtype=bool),
        geo_m=np.full(n, np.nan) if geo_m is None else geo_m,
        levels_up=np.full(n, -1, dtype=np.int64) if levels_up is None else levels_up,
        home_known=np.ones(n, dtype=bool),
    )
    return cost


def pair_costs(snap: Snapshot, v: np.ndarray, p: np.ndarray) -> Candidates:
    """Cost of arbitrary (volunteer, place) pairs by the one cost rule; pairs across districts cost infinity."""
    v, p = np.asarray(v, dtype=np.int64), np.asarray(p, dtype=np.int64)
    lca = np.full(len(v), -1, dtype=np.int64)
    levels = np.full(len(v), -1, dtype=np.int64)
    geo_m = np.full(len(v), np.nan)
    geo = np.isfinite(snap.vol_lat[v]) & np.isfinite(snap.place_lat[p])
    geo_m[geo] = great_circle_m(
        snap.vol_lat[v[geo]], snap.vol_lon[v[geo]], snap.place_lat[p[geo]], snap.place_lon[p[geo]]
    )
    home_known = snap.vol_area[v] >= 0
    if home_known.any():
        a = snap.area_anc[snap.vol_area[v[home_known]]]
        b = snap.area_anc[snap.place_area[p[home_known]]]
        eq = (a == b) & (a >= 0)
        has = eq.any(axis=1)
        depth = eq.shape[1] - 1 - np.argmax(eq[:, ::-1], axis=1)
        rows = np.nonzero(home_known)[0]
        ok_rows = rows[has]
        lca[ok_rows] = a[has, depth[has]]
        levels[ok_rows] = snap.area_depth[snap.place_area[p[ok_rows]]] - depth[has]
    cost, kind = pair_cost_arrays(
        votes_here=snap.vol_votes[v] == p, geo_m=geo_m, levels_up=levels, home_known=home_known
    )
    return Candidates(v, p, cost, kind, lca)


def _geo_candidates(snap: Snapshot, k: int) -> list[Candidates]:
    out: list[Candidates] = []
    vol_geo = np.isfinite(snap.vol_lat) & np.isfinite(snap.vol_lon)
    place_geo = np.isfinite(snap.place_lat) & np.isfinite(snap.place_lon)
    if not vol_geo.any() or not place_geo.any():
        return out
    vol_d = np.where(snap.vol_area >= 0, snap.area_district[np.maximum(snap.vol_area, 0)], -1)
    place_d = snap.area_district[snap.place_area]
    pxyz = _xyz(snap.place_lat, snap.place_lon)
    vxyz = _xyz(snap.vol_lat, snap.vol_lon)
    groups = [(d, place_geo & (place_d == d), vol_geo & (vol_d == d)) for d in np.unique(place_d[place_geo])]
    # Volunteers with coordinates but no known district may go anywhere.
    groups.append((-1, place_geo, vol_geo & (vol_d < 0)))
    for _d, pmask, vmask in groups:
        pidx, vidx = np.nonzero(pmask)[0], np.nonzero(vmask)[0]
        if not len(pidx) or not len(vidx):
            continue
        kk = min(k, len(pidx))
        chord, pos = cKDTree(pxyz[pidx]).query(vxyz[vidx], k=kk)
        chord, pos = chord.reshape(len(vidx), kk), pos.reshape(len(vidx), kk)
        metres = 2 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2, 0, 1))
        n = len(vidx) * kk
        out.append(
            Candidates(
                np.repeat(vidx, kk),
                pidx[pos].ravel(),
                _cost(n, geo_m=metres.ravel()),
                np.full(n, KIND_GEO, dtype=np.int8),
                np.full(n, -1, dtype=np.int64),
            )
        )
    return out


def _tree_candidates(snap: Snapshot, vmask: np.ndarray, pmask: np.ndarray, k: int) -> list[Candidates]:
    out: list[Candidates] = []
    vidx = np.nonzero(vmask & (snap.vol_area >= 0))[0]
    pidx = np.nonzero(pmask)[0]
    if not len(vidx) or not len(pidx):
        return out
    ppaths = [snap.area_path[a] for a in snap.place_area[pidx]]
    order = np.argsort(np.array(ppaths, dtype=object), kind="stable")
    sorted_places = pidx[order]
    sorted_paths = [ppaths[i] for i in order]
    place_depth = snap.area_depth[snap.place_area]
    areas, inverse = np.unique(snap.vol_area[vidx], return_inverse=True)
    by_area = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[by_area], np.arange(len(areas) + 1))
    for gi, a in enumerate(areas):
        vols = vidx[by_area[bounds[gi] : bounds[gi + 1]]]
        n = len(vols)
        ranks = np.arange(n)
        need = k
        prev: tuple[int, int] | None = None
        for depth in range(int(snap.area_depth[a]), -1, -1):
            c = int(snap.area_anc[a, depth])
            path = snap.area_path[c]
            lo, hi = bisect_left(sorted_paths, path), bisect_left(sorted_paths, path + "\uffff")
            tier = np.arange(lo, hi) if prev is None else np.r_[lo : prev[0], prev[1] : hi]
            prev = (lo, hi)
            if not len(tier):
                continue
            m, take = len(tier), min(need, len(tier))
            pos = (ranks[:, None] * take + np.arange(take)[None, :]) % m
            places = sorted_places[tier[pos]].ravel()
            levels = place_depth[places] - depth
            out.append(
                Candidates(
                    np.repeat(vols, take),
                    places,
                    _cost(n * take, levels_up=levels),
                    np.full(n * take, KIND_TREE, dtype=np.int8),
                    np.full(n * take, c, dtype=np.int64),
                )
            )
            need -= take
            if need <= 0:
                break
    return out


def candidates_build(snap: Snapshot, *, k: int = 10) -> Candidates:
    """Up to k candidate places per volunteer, plus where they vote and where they are now."""
    vol_geo = np.isfinite(snap.vol_lat) & np.isfinite(snap.vol_lon)
    place_geo = np.isfinite(snap.place_lat) & np.isfinite(snap.place_lon)
    parts = _geo_candidates(snap, k)
    parts += _tree_candidates(snap, ~vol_geo, np.ones(len(snap.place_id), dtype=bool), k)
    if (~place_geo).any():
        parts += _tree_candidates(snap, vol_geo, ~place_geo, k)
    forced_v, forced_p = [], []
    votes = np.nonzero(snap.vol_votes >= 0)[0]
    forced_v.append(votes)
    forced_p.append(snap.vol_votes[votes])
    current = np.nonzero(snap.vol_current_slot >= 0)[0]
    forced_v.append(current)
    forced_p.append(snap.slot_place[snap.vol_current_slot[current]])
    fv, fp = np.concatenate(forced_v), np.concatenate(forced_p)
    forced = pair_costs(snap, fv, fp)
    parts.append(forced)
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, np.zeros(0), np.zeros(0, dtype=np.int8), empty)
    vol = np.concatenate([c.vol for c in parts])
    place = np.concatenate([c.place for c in parts])
    cost = np.concatenate([c.cost for c in parts])
    kind = np.concatenate([c.kind for c in parts])
    lca = np.concatenate([c.lca for c in parts])
    is_forced = np.zeros(len(vol), dtype=bool)
    is_forced[len(vol) - len(fv) :] = True
    # Where they vote is always cheapest; a pair seen twice keeps its cheapest cost.
    keep = np.isfinite(cost)
    vol, place, cost, kind, lca, is_forced = (x[keep] for x in (vol, place, cost, kind, lca, is_forced))
    n_places = max(len(snap.place_id), 1)
    key = vol * n_places + place
    order = np.lexsort((~is_forced, cost, key))
    key_sorted = key[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = key_sorted[1:] != key_sorted[:-1]
    order = order[first]
    # Per volunteer: forced first, then by cost; keep the k best plus every forced pair.
    # A pair that appeared forced anywhere stays forced.
    forced_keys = np.unique(key[is_forced])
    forced_any = np.isin(key, forced_keys)
    order = order[np.lexsort((cost[order], ~forced_any[order], vol[order]))]
    v_sorted = vol[order]
    starts = np.r_[0, np.nonzero(v_sorted[1:] != v_sorted[:-1])[0] + 1]
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    order = order[(rank < k) | forced_any[order]]
    return Candidates(vol[order], place[order], cost[order], kind[order], lca[order])
