"""Benchmark of the assignment engine, end to end, in a fresh database.

    python bench/assign.py --national  # synthetic election at the national 2023 size (17,400 places,
                                       # 113,410 tables, 157,000 volunteers, a third voting at a known
                                       # place); --places/--tables/--volunteers change the size
    python bench/assign.py --cordoba   # the real Córdoba station list, 10,000 volunteers, tree distance;
                                       # also times the coverage API for the whole province

National: prints each phase of the real `auto_assign` (snapshot read, candidate generation, solve,
plan, write), the total, the peak memory, the coverage; and beside them the floor: a bare OR-Tools
min-cost flow (one `SimpleMinCostFlow`, one arc per slot) on the same graph, its time, coverage and
travel, which must equal the engine's (the engine is exact). `--greedy` adds the greedy baseline.
The data are generated in a child process so the peak memory is the engine's. Uses a temporary
SQLite file unless BENCH_DATABASE_URL is given (it must point at an empty database); with
`--data FILE` (SQLite only) the generated database is kept in FILE and copied for later runs.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"national": {"end_to_end": 25.0, "peak_mb": 1024.0}, "cordoba": {"end_to_end": 10.0}}
# The national 2023 election: polling places, tables, volunteers (issue 15).
NATIONAL_SIZE = {"places": 17_400, "tables": 113_410, "volunteers": 157_000}


def _setup(db_url: str) -> None:
    os.environ["DATABASE_URL"] = db_url
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    import django

    django.setup()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- synthetic national election ---------------------------------------------------------------


def _apportion(shares, total: int):
    """`total` split in proportion to `shares` as integers that add up exactly (largest remainders)."""
    import numpy as np

    exact = np.asarray(shares, dtype=np.float64) / np.sum(shares) * total
    whole = np.floor(exact).astype(np.int64)
    extra = np.argsort(whole - exact)[: total - int(whole.sum())]
    whole[extra] += 1
    return whole


def generate_national(seed: int = 2023, places: int = 17_400, tables: int = 113_410, volunteers: int = 157_000) -> None:
    """24 districts, ~20 departments each, ~1,000 cities of Zipf-distributed size; places scattered
    around city centres, volunteers around the same centres (wider), a third voting at the place
    nearest to home."""
    import datetime

    import numpy as np
    from django.core.management import call_command
    from django.db import connection
    from scipy.spatial import cKDTree

    from backend.accounts.models import Role, User
    from backend.elections.models import Area, Election, PollingPlace, Table
    from backend.volunteers.models import Availability, RolesAccepted, Volunteer

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(seed)
    election = Election.objects.create(slug="nacional", name="Nacional sintética", date=datetime.date(2027, 10, 24))
    User.objects.create(username="responsable", role=Role.LEAD, is_superuser=True)
    n_districts, depts_per_district, n_cities = 24, 20, min(1_000, places)
    d_lat = rng.uniform(-50, -23, n_districts)
    d_lon = rng.uniform(-70, -56, n_districts)
    districts = Area.objects.bulk_create(
        [
            Area(
                election=election, kind="distrito", code=f"d{i:02d}", name=f"Distrito {i}", path=f"/d{i:02d}/", depth=0
            )
            for i in range(n_districts)
        ]
    )
    depts = Area.objects.bulk_create(
        [
            Area(
                election=election,
                parent=districts[i],
                kind="departamento",
                code=f"s{j:02d}",
                name=f"Departamento {i}-{j}",
                path=f"/d{i:02d}/s{j:02d}/",
                depth=1,
            )
            for i in range(n_districts)
            for j in range(depts_per_district)
        ]
    )
    # Cities: Zipf sizes; a few metropolises hold a large share, like Buenos Aires, Córdoba, Rosario.
    size = 1.0 / np.arange(1, n_cities + 1) ** 1.05
    size /= size.sum()
    city_dept = rng.integers(0, len(depts), n_cities)
    city_district = city_dept // depts_per_district
    city_lat = d_lat[city_district] + rng.normal(0, 1.2, n_cities)
    city_lon = d_lon[city_district] + rng.normal(0, 1.2, n_cities)
    city_radius_km = 2 + 25 * np.sqrt(size / size.max())
    cities = Area.objects.bulk_create(
        [
            Area(
                election=election,
                parent=depts[city_dept[c]],
                kind="localidad",
                code=f"c{c:04d}",
                name=f"Ciudad {c}",
                path=f"{depts[city_dept[c]].path}c{c:04d}/",
                depth=2,
            )
            for c in range(n_cities)
        ]
    )
    # Places per city proportional to size (at least one each), exactly `places` in all.
    per_city = 1 + _apportion(size, places - n_cities)
    place_city = np.repeat(np.arange(n_cities), per_city)
    n_places = len(place_city)
    km = 1 / 111.0
    p_lat = city_lat[place_city] + rng.normal(0, 1, n_places) * city_radius_km[place_city] * km
    p_lon = city_lon[place_city] + rng.normal(0, 1, n_places) * city_radius_km[place_city] * km
    place_rows = PollingPlace.objects.bulk_create(
        [
            PollingPlace(
                election=election,
                area=cities[place_city[i]],
                code=f"P{i:05d}",
                name=f"Escuela {i}",
                address=f"Calle {i}",
                latitude=float(p_lat[i]),
                longitude=float(p_lon[i]),
            )
            for i in range(n_places)
        ],
        batch_size=2000,
    )
    # Tables: about 6 per place, more in big cities; unique numbers per district.
    t_per_place = 1 + _apportion(rng.poisson(tables / n_places - 1, n_places) + 0.5, tables - n_places)
    next_number = np.ones(n_districts, dtype=int)
    batch = []
    for i, n in enumerate(t_per_place):
        d = city_district[place_city[i]]
        for _ in range(n):
            batch.append(
                Table(
                    election=election,
                    place=place_rows[i],
                    district=districts[d],
                    number=int(next_number[d]),
                    electors=int(rng.integers(250, 351)),
                )
            )
            next_number[d] += 1
        if len(batch) >= 20_000:
            Table.objects.bulk_create(batch, batch_size=5000)
            batch = []
    Table.objects.bulk_create(batch, batch_size=5000)
    # Volunteers around the same cities, a bit wider than the schools; a third vote at their nearest school.
    vol_size = size * rng.uniform(0.6, 1.4, n_cities)
    vol_size /= vol_size.sum()
    v_city = rng.choice(n_cities, size=volunteers, p=vol_size)
    v_lat = city_lat[v_city] + rng.normal(0, 1.4, volunteers) * city_radius_km[v_city] * km
    v_lon = city_lon[v_city] + rng.normal(0, 1.4, volunteers) * city_radius_km[v_city] * km
    _, nearest = cKDTree(np.column_stack([p_lat, p_lon])).query(np.column_stack([v_lat, v_lon]))
    votes = rng.random(volunteers) < 1 / 3
    availability = rng.choice(list(Availability.values), size=volunteers, p=[0.8, 0.08, 0.07, 0.05])
    roles = rng.choice(list(RolesAccepted.values), size=volunteers, p=[0.7, 0.25, 0.05])
    trained = rng.random(volunteers) < 0.6
    rows = []
    for i in range(volunteers):
        rows.append(
            Volunteer(
                dni=str(10_000_000 + i),
                first_name="Fiscal",
                last_name=str(i),
                area_id=cities[v_city[i]].pk,
                votes_at_id=place_rows[nearest[i]].pk if votes[i] else None,
                latitude=float(v_lat[i]),
                longitude=float(v_lon[i]),
                availability=str(availability[i]),
                roles_accepted=str(roles[i]),
                trained=bool(trained[i]),
            )
        )
        if len(rows) >= 20_000:
            Volunteer.objects.bulk_create(rows, batch_size=5000)
            rows = []
    Volunteer.objects.bulk_create(rows, batch_size=5000)
    connection.close()


def generate_cordoba(volunteers: int = 10_000) -> None:
    from django.core.management import call_command
    from django.db import connection

    from backend.elections.demo import demo_load

    call_command("migrate", verbosity=0)
    demo_load(volunteers=volunteers, assigned=0)
    connection.close()


# --- measuring -----------------------------------------------------------------------------------


def _fmt_km(metres: float) -> str:
    return f"{metres / 1000:,.1f} km"


def _row(label: str, r, end_to_end: float) -> dict:
    return {
        "label": label,
        "end_to_end": end_to_end,
        "solve": r.timings.get("solve", 0.0),
        "timings": r.timings,
        "coverage": r.coverage_after,
        "covered": r.covered_after,
        "slots": r.slots,
        "travel": r.travel_total_m,
        "travel_per_slot": r.travel_total_m / max(1, r.covered_after - r.fixed),
        "p90": r.travel_p90_m,
    }


def floor_flow(problem) -> dict:
    """The floor: one bare OR-Tools `SimpleMinCostFlow` on the engine's graph, no decomposition, no
    shared arcs, one arc per slot; the same lexicographic objective (weighted coverage x M - travel)."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    started, cpu = time.perf_counter(), time.process_time()
    n_vol, n_slots = problem.n_vol, len(problem.slot_group)
    source, sink, vol0 = 0, 1, 2
    group0 = vol0 + n_vol
    ones = np.ones
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.zeros(n_vol, dtype=np.int64), vol0 + np.arange(n_vol), ones(n_vol, dtype=np.int64), np.zeros(n_vol, np.int64)
    )
    cand = smcf.add_arcs_with_capacity_and_unit_cost(
        vol0 + problem.arc_vol, group0 + problem.arc_group, ones(len(problem.arc_vol), dtype=np.int64), problem.arc_cost
    )
    slots = smcf.add_arcs_with_capacity_and_unit_cost(
        group0 + problem.slot_group,
        np.full(n_slots, sink, dtype=np.int64),
        ones(n_slots, dtype=np.int64),
        -problem.slot_weight * problem.scale,
    )
    smcf.add_arc_with_capacity_and_unit_cost(source, sink, n_vol, 0)
    smcf.set_node_supply(source, n_vol)
    smcf.set_node_supply(sink, -n_vol)
    status = smcf.solve()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    slot_used = smcf.flows(slots) > 0
    arc_used = smcf.flows(cand) > 0
    return {
        "status": status.name,
        "seconds": seconds,
        "cpu": cpu,
        "covered": int(slot_used.sum()),
        "weight": int(problem.slot_weight[slot_used].sum()),
        "cost": int(problem.arc_cost[arc_used].sum()),
        "arcs": len(problem.arc_vol),
    }


def _floor_in_child(slug: str, k: int, conn) -> None:
    """Build the engine's graph from the same snapshot and solve it bare, in a forked process so that
    neither its memory nor its garbage counts against the engine's figures."""
    from django.db import connection

    from backend.assignments.engine.plan import problem_build
    from backend.assignments.engine.snapshot import snapshot_load
    from backend.elections.models import Election

    connection.close()
    snap = snapshot_load(election=Election.objects.get(slug=slug))
    _cands, problem, _arc_cand, _free = problem_build(snap, k=k)
    conn.send(floor_flow(problem))
    conn.close()


def floor_measure(slug: str, k: int = 10) -> dict:
    parent, child = multiprocessing.get_context("fork").Pipe()
    proc = multiprocessing.get_context("fork").Process(target=_floor_in_child, args=(slug, k, child))
    proc.start()
    floor = parent.recv()
    proc.join()
    return floor


def written_plan(election) -> dict:
    """Coverage, weighted coverage and travel (in the solver's units) of what the engine wrote, read back."""
    import numpy as np

    from backend.assignments.engine.rules import COST_UNIT_M
    from backend.assignments.engine.snapshot import snapshot_load
    from backend.assignments.models import ACTIVE_STATUSES, Assignment

    snap = snapshot_load(election=election)
    costs = np.array(
        Assignment.objects.filter(election=election, status__in=ACTIVE_STATUSES).values_list("cost", flat=True),
        dtype=np.float64,
    )
    return {
        "covered": int(snap.slot_taken_before.sum()),
        "weight": int(snap.slot_weight[snap.slot_taken_before].sum()),
        "cost": int(np.rint(costs / COST_UNIT_M).sum()),
    }


def run_national(*, greedy: bool) -> None:
    import gc

    from backend.assignments.services import auto_assign
    from backend.elections.models import Election

    election = Election.objects.get(slug="nacional")
    floor = floor_measure("nacional")
    gc.collect()
    rss_before = _peak_mb()
    greedy_row = None
    if greedy:
        # Greedy first, as a dry run, so both start from the same empty plan.
        t = time.perf_counter()
        g = auto_assign(election=election, dry_run=True, method="greedy")
        greedy_row = _row("greedy (nearest free slot, dry run)", g, time.perf_counter() - t)
    # CPU seconds per phase beside the wall clock: on a shared machine the wall clock measures the load.
    marks: list[tuple[str, float]] = []

    def mark(step: str) -> None:
        marks.append((step, time.process_time()))

    t, cpu = time.perf_counter(), time.process_time()
    flow = auto_assign(election=election, dry_run=False, on_progress=mark)
    total, total_cpu = time.perf_counter() - t, time.process_time() - cpu
    marks.append(("end", cpu + total_cpu))
    cpu_of = {step: marks[i + 1][1] - at for i, (step, at) in enumerate(marks[:-1])}
    peak = _peak_mb()
    mine = written_plan(election)
    tm = flow.timings
    names = (("load", "snapshot read"), ("candidates", "candidate generation"), ("solve", "solve"))
    names += (("solve_ortools", "  of which inside OR-Tools"),)
    names += (("plan", "plan (slots, reasons, changes)"), ("write", "write"))
    print(
        f"\n== national: {flow.slots:,} slots, {flow.volunteers:,} volunteers in play, "
        f"{flow.candidates:,} candidate pairs, {floor['arcs']:,} volunteer-group arcs"
    )
    print(f"  {'phase':<32} {'wall':>7}   {'CPU':>7}")
    for key, label in names:
        cpu_text = f"{cpu_of[key]:7.2f} s" if key in cpu_of else ""
        print(f"  {label:<32} {tm.get(key, 0.0):7.2f} s {cpu_text}")
    print(
        f"  {'end to end (auto_assign)':<32} {total:7.2f} s {total_cpu:7.2f} s "
        f"(target <= {TARGETS['national']['end_to_end']:.0f} s on a quiet machine)"
    )
    print(f"  {'peak memory (max RSS)':<32} {peak:7,.0f} MB  (before the run {rss_before:,.0f} MB; target <= 1 GB)")
    print(
        f"engine: coverage {flow.coverage_after:.2%} ({mine['covered']:,} slots), weighted coverage "
        f"{mine['weight']:,}, travel {mine['cost']:,} x 100 m"
    )
    print(
        f"floor (bare OR-Tools SimpleMinCostFlow, same graph, {floor['status']}): coverage "
        f"{floor['covered'] / max(flow.slots, 1):.2%} ({floor['covered']:,} slots), weighted coverage "
        f"{floor['weight']:,}, travel {floor['cost']:,} x 100 m, {floor['seconds']:.2f} s (CPU {floor['cpu']:.2f} s)"
    )
    print(
        f"ratios to the floor: solve {tm.get('solve', 0.0) / floor['seconds']:.2f}x wall, "
        f"{cpu_of.get('solve', 0.0) / floor['cpu']:.2f}x CPU; end to end {total / floor['seconds']:.2f}x wall, "
        f"{total_cpu / floor['cpu']:.2f}x CPU"
    )
    exact = mine["weight"] == floor["weight"] and mine["cost"] == floor["cost"]
    checks = [
        ("end to end", total <= TARGETS["national"]["end_to_end"]),
        ("peak memory", peak <= TARGETS["national"]["peak_mb"]),
        ("exact optimum (weighted coverage and travel equal the floor's)", exact),
        ("coverage equal to the floor's", mine["covered"] == floor["covered"]),
    ]
    for name, ok in checks:
        print(f"target {name}: {'OK' if ok else 'MISSED'}")
    if greedy_row is not None:
        flow_row = _row("min-cost flow (load, solve, write)", flow, total)
        _compare(flow_row, greedy_row)
        # Re-running right away must move nobody (stability), and is the incremental case's cost.
        t = time.perf_counter()
        again = auto_assign(election=election, dry_run=True)
        print(
            f"re-run (dry): {time.perf_counter() - t:.2f} s, created {again.created}, moved {again.moved}, "
            f"cancelled {again.cancelled}"
        )
        same_coverage_travel(election, greedy_row)


def _compare(flow_row: dict, greedy_row: dict) -> None:
    for row in (flow_row, greedy_row):
        print(
            f"{row['label']:<38} end-to-end {row['end_to_end']:6.2f} s | solve {row['solve']:6.2f} s | "
            f"coverage {row['coverage']:.2%} ({row['covered']:,}) | travel {_fmt_km(row['travel'])} "
            f"({row['travel_per_slot'] / 1000:.2f} km/slot) | p90 {_fmt_km(row['p90'])}"
        )
    print(
        "ratios flow/greedy: coverage {:.4f}, covered slots {:+,}, travel per covered slot {:.3f}, p90 {:.3f}".format(
            flow_row["coverage"] / max(greedy_row["coverage"], 1e-9),
            flow_row["covered"] - greedy_row["covered"],
            flow_row["travel_per_slot"] / max(greedy_row["travel_per_slot"], 1e-9),
            flow_row["p90"] / max(greedy_row["p90"], 1e-9),
        )
    )


def run_cordoba() -> None:
    from backend.assignments.services import auto_assign
    from backend.elections.models import Election

    election = Election.objects.get(slug="demo-cordoba")
    t = time.perf_counter()
    greedy = auto_assign(election=election, dry_run=True, method="greedy")
    greedy_row = _row("greedy (nearest free slot, dry run)", greedy, time.perf_counter() - t)
    t = time.perf_counter()
    flow = auto_assign(election=election, dry_run=False)
    flow_row = _row("min-cost flow (load, solve, write)", flow, time.perf_counter() - t)
    print(f"\n== cordoba: {flow.slots:,} slots, {flow.volunteers:,} volunteers in play, {flow.candidates:,} candidates")
    _compare(flow_row, greedy_row)
    print("    steps: " + ", ".join(f"{k} {v:.2f} s" for k, v in flow.timings.items()))
    print(f"peak memory (max RSS of this process): {_peak_mb():,.0f} MB")
    limit = TARGETS["cordoba"]["end_to_end"]
    met = "OK" if flow_row["end_to_end"] <= limit else "MISSED"
    print(f"target end to end: {flow_row['end_to_end']:.2f} <= {limit:.0f}: {met}")
    print(f"target coverage >= greedy: {'OK' if flow_row['covered'] >= greedy_row['covered'] else 'MISSED'}")
    time_coverage_api(election)


def same_coverage_travel(election, greedy_row) -> None:
    """Least travel that covers as many slots as the greedy did: one min-cost flow of exactly that
    many units (travel only, every slot alike), on the same candidates. Compares like with like."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    from backend.assignments.engine.plan import plan_build
    from backend.assignments.models import Assignment

    Assignment.objects.filter(election=election).delete()
    plan = plan_build(election=election)
    p = plan.problem
    t = time.perf_counter()
    smcf = min_cost_flow.SimpleMinCostFlow()
    vols = np.unique(p.arc_vol)
    g0 = 2 + p.n_vol
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.zeros(len(vols), dtype=np.int64),
        2 + vols,
        np.ones(len(vols), dtype=np.int64),
        np.zeros(len(vols), dtype=np.int64),
    )
    cand = smcf.add_arcs_with_capacity_and_unit_cost(
        2 + p.arc_vol, g0 + p.arc_group, np.ones(len(p.arc_vol), dtype=np.int64), p.arc_cost
    )
    smcf.add_arcs_with_capacity_and_unit_cost(
        g0 + p.slot_group,
        np.ones(len(p.slot_group), dtype=np.int64),
        np.ones(len(p.slot_group), dtype=np.int64),
        np.zeros(len(p.slot_group), dtype=np.int64),
    )
    units = int(greedy_row["covered"])
    smcf.set_node_supply(0, units)
    smcf.set_node_supply(1, -units)
    status = smcf.solve()
    used = smcf.flows(cand) > 0
    travel = float(p.arc_cost[used].sum()) * 100  # arc costs are in units of 100 m
    print(
        f"at the greedy's coverage ({units:,} slots, {status.name}, {time.perf_counter() - t:.1f} s): "
        f"exact solver travel {_fmt_km(travel)} vs greedy {_fmt_km(greedy_row['travel'])}: "
        f"ratio {travel / max(greedy_row['travel'], 1):.3f}"
    )


def time_coverage_api(election) -> None:
    from rest_framework.test import APIClient

    from backend.accounts.models import User

    client = APIClient()
    client.force_authenticate(User.objects.get(username="responsable"))
    url = f"/api/assignments/coverage/?election={election.slug}"
    times = []
    for _ in range(7):
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        assert response.status_code == 200, response.content[:200]
    areas = response.json()["areas"]
    print(
        f"coverage API, whole province ({len(areas)} areas, {areas[0]['places']} places, {areas[0]['slots']} slots): "
        f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (target < 300 ms)"
    )
    places_url = f"/api/assignments/coverage/places/?election={election.slug}"
    t = time.perf_counter()
    client.get(places_url)
    print(f"coverage API per place, whole province: {(time.perf_counter() - t) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--national", action="store_true", help="synthetic election at national size (the default)")
    which.add_argument("--cordoba", action="store_true", help="the real Córdoba data with 10,000 volunteers")
    parser.add_argument("--places", type=int, default=NATIONAL_SIZE["places"], help="polling places (17,400)")
    parser.add_argument("--tables", type=int, default=NATIONAL_SIZE["tables"], help="tables (113,410)")
    parser.add_argument("--volunteers", type=int, default=NATIONAL_SIZE["volunteers"], help="volunteers (157,000)")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument(
        "--greedy", action="store_true", help="also the greedy baseline, a re-run, travel at its coverage"
    )
    parser.add_argument("--data", type=Path, help="SQLite file to keep the generated data in and reuse (same sizes)")
    args = parser.parse_args()
    if args.places < 1 or args.tables < args.places or args.volunteers < 1:
        parser.error("need at least one place, a table per place and one volunteer")
    kind = "cordoba" if args.cordoba else "national"
    tmp = tempfile.TemporaryDirectory(prefix="fz-bench-")
    db_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp.name}/bench.sqlite3"
    if args.data and not db_url.startswith("sqlite"):
        parser.error("--data keeps a SQLite file; it does not apply with BENCH_DATABASE_URL")
    _setup(db_url)
    t = time.perf_counter()
    if args.data and args.data.exists():
        shutil.copyfile(args.data, f"{tmp.name}/bench.sqlite3")
        print(f"data copied from {args.data}")
    else:
        if kind == "national":
            sizes = {"seed": args.seed, "places": args.places, "tables": args.tables, "volunteers": args.volunteers}
            child = multiprocessing.get_context("fork").Process(target=generate_national, kwargs=sizes)
        else:
            child = multiprocessing.get_context("fork").Process(target=generate_cordoba)
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("data generation failed")
        print(f"data generated in {time.perf_counter() - t:.1f} s ({db_url.split('://')[0]})")
        if args.data:
            shutil.copyfile(f"{tmp.name}/bench.sqlite3", args.data)
    if kind == "national":
        run_national(greedy=args.greedy)
    else:
        run_cordoba()
    tmp.cleanup()


if __name__ == "__main__":
    main()
