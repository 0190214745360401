"""Reads of the count: a table's ballot, its sheets, the quick count, the discrepancies."""

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from backend.accounts.models import Role
from backend.assignments.models import ACTIVE_STATUSES, Assignment
from backend.core.prepared import PreparedQuery
from backend.elections.models import Area, Election, Table
from backend.permissions import role_of, scope_areas

from .models import BallotList, Category, CountTally, OfficialImport, ResultSheet, SheetStatus

TABLE_TOTALS_TTL = 300  # seconds


def _ancestor_paths(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


@dataclass(frozen=True)
class _Ballot:
    """An election's ballot as the sheet doors read it: categories (with their districts' paths, empty
    when voted everywhere) and each category's lists (with their district's path, "" when everywhere)."""

    loaded_at: float
    categories: tuple[tuple[Category, frozenset[str]], ...]
    lists: dict[int, tuple[tuple[BallotList, str], ...]]
    # What one area's tables vote, worked out once per area path (every sheet of a table asks twice).
    _by_path: dict[str, "_AreaBallot"] = field(default_factory=dict, compare=False)

    def for_path(self, path: str) -> "_AreaBallot":
        found = self._by_path.get(path)
        if found is None:
            paths = set(_ancestor_paths(path))
            categories = tuple(c for c, districts in self.categories if not districts or districts & paths)
            lists = {
                category_id: tuple(bl for bl, district in found_lists if not district or district in paths)
                for category_id, found_lists in self.lists.items()
            }
            found = self._by_path[path] = _AreaBallot(categories=categories, lists=lists)
        return found


@dataclass(frozen=True)
class _AreaBallot:
    """The categories voted in one area and each category's lists there, in sheet order."""

    categories: tuple[Category, ...]
    lists: dict[int, tuple[BallotList, ...]]


# Per process: every sheet needs its table's ballot, which is per election and does not change on
# election night. Saves of a category or list (the admin, the imports) clear it at once in this
# process (`ballot_cache_clear`, from the app's signals); other processes reload it within this TTL.
BALLOT_CACHE_TTL = 10.0  # seconds
_ballots: dict[int, _Ballot] = {}


def ballot_cache_clear(election_id: int | None = None) -> None:
    if election_id is None:
        _ballots.clear()
    else:
        _ballots.pop(election_id, None)


def _ballot(election_id: int) -> _Ballot:
    found = _ballots.get(election_id)
    now = time.monotonic()
    if found is not None and now - found.loaded_at < BALLOT_CACHE_TTL:
        return found
    districts: dict[int, set[str]] = {}
    for category_id, path in Category.districts.through.objects.filter(category__election_id=election_id).values_list(
        "category_id", "area__path"
    ):
        districts.setdefault(category_id, set()).add(path)
    categories = tuple(
        (c, frozenset(districts.get(c.pk, ())))
        for c in Category.objects.filter(election_id=election_id).order_by("position", "id")
    )
    lists: dict[int, list[tuple[BallotList, str]]] = {c.pk: [] for c, _paths in categories}
    for bl in (
        BallotList.objects.filter(category__election_id=election_id)
        .annotate(district_path=F("district__path"))
        .order_by("position", "id")
    ):
        lists.setdefault(bl.category_id, []).append((bl, bl.district_path or ""))
    found = _Ballot(loaded_at=now, categories=categories, lists={k: tuple(v) for k, v in lists.items()})
    _ballots[election_id] = found
    return found


def category_list_for_table(*, table: Table) -> list[Category]:
    """The categories voted at `table`: those with no districts, and those of one of its areas."""
    return list(_ballot(table.election_id).for_path(table.place.area.path).categories)


def category_get_by_code(*, election_id: int, code: str) -> Category | None:
    """The election's category whose short code is `code` (any case), or None."""
    wanted = code.casefold()
    return next((c for c, _d in _ballot(election_id).categories if c.code.casefold() == wanted), None)


def category_get_by_id(*, election_id: int, pk: int) -> Category | None:
    return next((c for c, _d in _ballot(election_id).categories if c.pk == pk), None)


def ballot_list_for_table(*, table: Table, category: Category) -> list[BallotList]:
    """The lists on `table`'s sheet for `category`, in sheet order."""
    return ballot_list_for_path(election_id=category.election_id, path=table.place.area.path, category=category)


def ballot_list_for_path(*, election_id: int, path: str, category: Category) -> list[BallotList]:
    """The lists on the sheet for `category` of a table whose place's area has `path`, in sheet order."""
    return list(_ballot(election_id).for_path(path).lists.get(category.pk, ()))


_WATCHER_TABLES = PreparedQuery(
    lambda volunteer_id: (
        Assignment.objects.filter(volunteer_id=volunteer_id, status__in=ACTIVE_STATUSES)
        .order_by("-election__date", "id")
        .values_list("election_id", "role", "place_id", "table_id", "table__number")
    ),
    "volunteer_id",
)


def assignment_tables_for_volunteer(*, volunteer_id: int) -> list[tuple[int, str, int, int | None, int | None]]:
    """(election id, role, place id, table id, table number) of each active assignment of the
    volunteer, newest election first: how an SMS sheet finds its table."""
    return _WATCHER_TABLES.rows(volunteer_id=volunteer_id)


def sheet_current_get(*, table: Table, category: Category, official: bool = False) -> ResultSheet | None:
    return ResultSheet.objects.filter(table=table, category=category, official=official, current=True).first()


def sheet_list_for_table(*, table: Table) -> QuerySet[ResultSheet]:
    return ResultSheet.objects.filter(table=table).select_related("category", "actor").order_by("category_id", "id")


def sheet_list_flagged(*, election: Election) -> QuerySet[ResultSheet]:
    return (
        ResultSheet.objects.filter(election=election, status__in=[SheetStatus.FLAGGED, SheetStatus.CONFLICT])
        .select_related("table__place", "category")
        .order_by("-id")
    )


@dataclass
class ListTally:
    list_id: int
    name: str
    ours: bool
    votes: int
    percent: float  # of the positive votes (lists only)


@dataclass
class QuickCount:
    category_id: int
    category: str
    area_id: int | None
    area: str
    tables: int
    tables_reported: int
    electors: int
    electors_reported: int
    electors_share: float  # % of the area's electors whose table has reported
    voters: int
    blank: int
    null: int
    contested: int
    challenged: int
    lists: list[ListTally] = field(default_factory=list)
    ours_votes: int = 0
    margin: int = 0  # our lists minus the strongest other list (negative: behind)
    margin_over: str = ""


def _table_totals(election: Election, category: Category, path: str) -> tuple[int, int]:
    """(tables, electors) where `category` is voted under `path`; cached: tables do not move on election night."""
    key = f"count:tables:{election.pk}:{category.pk}:{path}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    tables = Table.objects.filter(election=election)
    if path != "/":
        tables = tables.filter(place__area__path__startswith=path)
    district_paths = list(category.districts.values_list("path", flat=True))
    if district_paths:
        q = Q()
        for district_path in district_paths:
            q |= Q(place__area__path__startswith=district_path)
        tables = tables.filter(q)
    found = tables.aggregate(n=Count("id"), electors=Sum("electors"))
    value = (int(found["n"] or 0), int(found["electors"] or 0))
    cache.set(key, value, TABLE_TOTALS_TTL)
    return value


def quick_count(*, election: Election, category: Category, area: Area | None = None) -> QuickCount:
    """Live parallel count of the current party sheets of `category` in `area`'s subtree (all when None).

    Reads the running sums (CountTally, kept by the services per category and place area): one
    grouped query over a few rows per area, whatever the number of tables.
    """
    path = area.path if area is not None else "/"
    rows = CountTally.objects.filter(category=category)
    if path != "/":
        rows = rows.filter(area_path__startswith=path)
    per_list: dict[int, int] = {}
    totals = dict.fromkeys(("tables", "electors", "voters", "blank", "null", "contested", "challenged"), 0)
    for list_id, votes, *sums in rows.values_list("list_id").annotate(
        v=Sum("votes"),
        t=Sum("tables"),
        e=Sum("electors"),
        vo=Sum("voters"),
        b=Sum("blank"),
        n=Sum("null"),
        c=Sum("contested"),
        ch=Sum("challenged"),
    ):
        if list_id:
            per_list[list_id] = int(votes or 0)
        else:
            totals = dict(zip(totals, (int(x or 0) for x in sums), strict=True))
    tables, electors = _table_totals(election, category, path)
    lists = list(BallotList.objects.filter(category=category).select_related("district").order_by("position", "id"))
    if area is not None:
        paths = _ancestor_paths(path)
        lists = [
            bl
            for bl in lists
            if bl.district_id is None or per_list.get(bl.pk) or _district_path(bl) in paths or _under(bl, path)
        ]
    positives = sum(per_list.values())
    tallies = [
        ListTally(
            list_id=bl.pk,
            name=bl.name,
            ours=bl.ours,
            votes=per_list.get(bl.pk, 0),
            percent=round(100.0 * per_list.get(bl.pk, 0) / positives, 2) if positives else 0.0,
        )
        for bl in lists
    ]
    tallies.sort(key=lambda t: (-t.votes, t.name))
    ours = sum(t.votes for t in tallies if t.ours)
    rivals = [t for t in tallies if not t.ours]
    best = rivals[0] if rivals else None
    return QuickCount(
        category_id=category.pk,
        category=category.name,
        area_id=area.pk if area is not None else None,
        area=area.name if area is not None else election.name,
        tables=tables,
        tables_reported=totals["tables"],
        electors=electors,
        electors_reported=totals["electors"],
        electors_share=round(100.0 * totals["electors"] / electors, 2) if electors else 0.0,
        voters=totals["voters"],
        blank=totals["blank"],
        null=totals["null"],
        contested=totals["contested"],
        challenged=totals["challenged"],
        lists=tallies,
        ours_votes=ours,
        margin=ours - (best.votes if best else 0),
        margin_over=best.name if best else "",
    )


def _district_path(ballot_list: BallotList) -> str:
    return ballot_list.district.path if ballot_list.district is not None else "/"


def _under(ballot_list: BallotList, path: str) -> bool:
    return ballot_list.district is not None and ballot_list.district.path.startswith(path)


@dataclass
class Discrepancy:
    table_id: int
    table: int
    category_id: int
    category: str
    district: str
    section: str
    circuit: str
    place: str
    ours: ResultSheet
    official: ResultSheet
    # Votes the party loses if the official figure stands: its own lost votes plus rivals' gained votes.
    at_stake: int
    differences: dict = field(default_factory=dict)  # field -> (ours, official)
    watcher: str = ""


def _difference(ours: ResultSheet, official: ResultSheet, lists: dict[int, BallotList]) -> dict:
    """Each figure where the two sheets differ: list name (or total's field) -> (ours, official)."""
    differences: dict = {}
    ids = set(ours.votes) | set(official.votes)
    for list_id in sorted(ids, key=int):
        mine, theirs = int(ours.votes.get(list_id, 0)), int(official.votes.get(list_id, 0))
        if mine == theirs:
            continue
        ballot_list = lists.get(int(list_id))
        differences[ballot_list.name if ballot_list else list_id] = (mine, theirs)
    for name in ("blank", "null", "contested", "challenged", "voters"):
        mine, theirs = getattr(ours, name), getattr(official, name)
        if mine is not None and theirs is not None and mine != theirs:
            differences[name] = (mine, theirs)
    return differences


def _votes_at_stake(ours: ResultSheet, other: ResultSheet, lists: dict[int, BallotList]) -> int:
    """Votes the party loses if `other` stands instead of `ours`: its own lost votes plus rivals'
    gained votes (the discrepancies compute the same in SQL)."""
    at_stake = 0
    for list_id in set(ours.votes) | set(other.votes):
        mine, theirs = int(ours.votes.get(list_id, 0)), int(other.votes.get(list_id, 0))
        ballot_list = lists.get(int(list_id))
        at_stake += max(0, mine - theirs) if ballot_list is not None and ballot_list.ours else max(0, theirs - mine)
    return at_stake


_TOTAL_NAMES = ("blank", "null", "contested", "challenged", "voters")


def _discrepancy_sql(*, vendor: str, quote, area_path: str | None, category_id: int | None, page: bool) -> str:
    """One query: every current party sheet beside the current official sheet of its table and
    category, the lists of both expanded from their JSON and compared, the votes at stake for us
    summed (our lists' lost votes plus rivals' gained votes), ranked, counted and paged in SQL.

    Ranked as the console shows them: most votes at stake first, then the biggest total gap, then
    the table. A pair whose JSON text is equal is equal; a different text may still hold the same
    figures (key order on SQLite), so equality is decided on the expanded lists."""
    each = "jsonb_each_text" if vendor == "postgresql" else "json_each"
    distinct = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    totals = [quote(n) for n in _TOTAL_NAMES]
    totals_differ = " OR ".join(f"p.{c} {distinct} o.{c}" for c in totals)
    pair_totals = ", ".join(
        f"p.{c} AS ours_{n}, o.{c} AS official_{n}" for c, n in zip(totals, _TOTAL_NAMES, strict=True)
    )
    totals_gap = " + ".join(f"COALESCE(ABS(pair.ours_{n} - pair.official_{n}), 0)" for n in _TOTAL_NAMES)
    totals_differ_pair = " OR ".join(f"pair.ours_{n} {distinct} pair.official_{n}" for n in _TOTAL_NAMES)
    filters = ""
    if area_path is not None:
        filters += " AND substr(p.area_path, 1, %(area_length)s) = %(area)s"
    if category_id is not None:
        filters += " AND p.category_id = %(category)s"
    return f"""
WITH pair AS (
  SELECT p.id AS ours_id, o.id AS official_id, p.table_id, p.category_id, p.actor_id, p.photo,
         p.votes AS ours_votes, o.votes AS official_votes, {pair_totals}
  FROM count_resultsheet p
  JOIN count_resultsheet o ON o.table_id = p.table_id AND o.category_id = p.category_id
       AND o.official = %(yes)s AND o.current = %(yes)s
  WHERE p.election_id = %(election)s AND p.official = %(no)s AND p.current = %(yes)s{filters}
    AND (p.votes <> o.votes OR {totals_differ})
), cells AS (
  SELECT pair.ours_id, e.key AS list_key, CAST(e.value AS INTEGER) AS mine, 0 AS theirs, 1 AS in_mine, 0 AS in_theirs
  FROM pair, {each}(pair.ours_votes) e
  UNION ALL
  SELECT pair.ours_id, e.key, 0, CAST(e.value AS INTEGER), 0, 1
  FROM pair, {each}(pair.official_votes) e
), per_list AS (
  SELECT ours_id, list_key, SUM(mine) AS mine, SUM(theirs) AS theirs, SUM(in_mine) AS in_mine,
         SUM(in_theirs) AS in_theirs
  FROM cells GROUP BY ours_id, list_key
), scored AS (
  SELECT l.ours_id,
         SUM(CASE WHEN b.ours THEN (CASE WHEN l.mine > l.theirs THEN l.mine - l.theirs ELSE 0 END)
                  ELSE (CASE WHEN l.theirs > l.mine THEN l.theirs - l.mine ELSE 0 END) END) AS at_stake,
         SUM(ABS(l.mine - l.theirs)) AS gap,
         SUM(CASE WHEN l.mine <> l.theirs OR l.in_mine = 0 OR l.in_theirs = 0 THEN 1 ELSE 0 END) AS differing
  FROM per_list l LEFT JOIN count_ballotlist b ON b.id = CAST(l.list_key AS INTEGER)
  GROUP BY l.ours_id
)
SELECT pair.ours_id, pair.official_id, pair.table_id, pair.category_id, pair.actor_id, pair.photo,
       pair.ours_votes, pair.official_votes,
       {", ".join(f"pair.ours_{n}, pair.official_{n}" for n in _TOTAL_NAMES)},
       COALESCE(s.at_stake, 0) AS at_stake, t.number, pl.name, a.path,
       u.first_name, u.last_name, u.username{", COUNT(*) OVER () AS total" if page else ""}
FROM pair
LEFT JOIN scored s ON s.ours_id = pair.ours_id
JOIN elections_table t ON t.id = pair.table_id
JOIN elections_pollingplace pl ON pl.id = t.place_id
JOIN elections_area a ON a.id = pl.area_id
LEFT JOIN accounts_user u ON u.id = pair.actor_id
WHERE COALESCE(s.differing, 0) > 0 OR {totals_differ_pair}
ORDER BY COALESCE(s.at_stake, 0) DESC, COALESCE(s.gap, 0) + {totals_gap} DESC, t.number, pair.table_id,
         pair.category_id{" LIMIT %(limit)s OFFSET %(offset)s" if page else ""}
"""


def _discrepancy_rows(
    *, election: Election, area: Area | None, category: Category | None, limit: int | None, offset: int
):
    """The ranked rows (a generator, fetched in chunks so that an export never holds them all),
    with the total before paging as the last column when `limit` is given."""
    sql = _discrepancy_sql(
        vendor=connection.vendor,
        quote=connection.ops.quote_name,
        area_path=area.path if area is not None else None,
        category_id=category.pk if category is not None else None,
        page=limit is not None,
    )
    params: dict = {"election": election.pk, "yes": True, "no": False, "limit": limit, "offset": offset}
    if area is not None:
        params["area"], params["area_length"] = area.path, len(area.path)
    if category is not None:
        params["category"] = category.pk
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(2000):
            yield from chunk


def _json(value) -> dict:
    # PostgreSQL's driver hands back jsonb decoded, SQLite's the text.
    return json.loads(value) if isinstance(value, str) else (value or {})


def _discrepancies(election: Election, rows) -> Iterator[tuple[Discrepancy, int]]:
    """Discrepancy objects from `_discrepancy_rows` (and each row's total column, when paged)."""
    ballot = _ballot(election.pk)
    lists = {bl.pk: bl for entries in ballot.lists.values() for bl, _d in entries}
    categories = {c.pk: c for c, _d in ballot.categories}
    names: dict[str, str] = {}
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, 2000)):
        wanted = {p for row in chunk for p in _ancestor_paths(row[21])} - names.keys()
        if wanted:
            names.update(Area.objects.filter(election=election, path__in=wanted).values_list("path", "name"))
        for row in chunk:
            ours_id, official_id, table_id, category_id, actor_id, photo, ours_votes, official_votes = row[:8]
            totals = row[8:18]
            ours = ResultSheet(
                id=ours_id,
                election_id=election.pk,
                table_id=table_id,
                category_id=category_id,
                actor_id=actor_id,
                photo=photo or "",
                votes=_json(ours_votes),
                **{n: totals[2 * i] for i, n in enumerate(_TOTAL_NAMES)},
            )
            official = ResultSheet(
                id=official_id,
                election_id=election.pk,
                table_id=table_id,
                category_id=category_id,
                official=True,
                votes=_json(official_votes),
                **{n: totals[2 * i + 1] for i, n in enumerate(_TOTAL_NAMES)},
            )
            chain = [names.get(p, "") for p in _ancestor_paths(row[21])]
            first, last, username = row[22:25]
            category = categories.get(category_id)
            yield (
                Discrepancy(
                    table_id=table_id,
                    table=row[19],
                    category_id=category_id,
                    category=category.name if category is not None else str(category_id),
                    district=chain[0] if len(chain) > 0 else "",
                    section=chain[1] if len(chain) > 1 else "",
                    circuit=chain[2] if len(chain) > 2 else "",
                    place=row[20],
                    ours=ours,
                    official=official,
                    at_stake=int(row[18]),
                    differences=_difference(ours, official, lists),
                    watcher=(f"{first or ''} {last or ''}".strip() or username or "") if actor_id else "",
                ),
                int(row[25]) if len(row) > 25 else 0,
            )


def discrepancy_list(
    *, election: Election, area: Area | None = None, category: Category | None = None
) -> list[Discrepancy]:
    """Every table x category where the party's current sheet and the official figure differ,
    ranked by the votes at stake for the party (then by the size of the difference): one query."""
    rows = _discrepancy_rows(election=election, area=area, category=category, limit=None, offset=0)
    return [d for d, _total in _discrepancies(election, rows)]


def discrepancy_page(
    *, election: Election, area: Area | None = None, category: Category | None = None, limit: int, offset: int = 0
) -> tuple[int, list[Discrepancy]]:
    """(how many in all, the `limit` from `offset` on in rank order): one query, paged in SQL."""
    rows = _discrepancy_rows(election=election, area=area, category=category, limit=limit, offset=offset)
    found = list(_discrepancies(election, rows))
    if not found and offset:
        total, _page = discrepancy_page(election=election, area=area, category=category, limit=1)
        return total, []
    return (found[0][1] if found else 0), [d for d, _total in found]


def discrepancy_iter(
    *, election: Election, area: Area | None = None, category: Category | None = None
) -> Iterator[Discrepancy]:
    """Every discrepancy in rank order, read in chunks (the legal team's export)."""
    rows = _discrepancy_rows(election=election, area=area, category=category, limit=None, offset=0)
    return (d for d, _total in _discrepancies(election, rows))


@dataclass
class SheetForm:
    category: Category
    lists: list[BallotList]
    latest: ResultSheet | None  # the newest party sheet of this table and category

    @property
    def list_rows(self) -> list[tuple[BallotList, int | None]]:
        """Each list with the votes the newest sheet gave it: the form shows what was sent."""
        sent = self.latest.votes if self.latest is not None else {}
        return [(ballot_list, sent.get(str(ballot_list.pk))) for ballot_list in self.lists]


def sheet_forms_for_table(*, table: Table) -> list[SheetForm]:
    """What the watcher's page shows: each category voted at the table, its lists, the last sheet sent."""
    latest: dict[int, ResultSheet] = {}
    for sheet in ResultSheet.objects.filter(table=table, official=False).order_by("id"):
        latest[sheet.category_id] = sheet
    return [
        SheetForm(category=c, lists=ballot_list_for_table(table=table, category=c), latest=latest.get(c.pk))
        for c in category_list_for_table(table=table)
    ]


def transcription_queue(*, user) -> QuerySet[ResultSheet]:
    """Photo-only sheets in `user`'s scopes that `user` has neither sent nor typed yet; the ones
    already typed once (waiting for a second or third person) first."""
    queue = ResultSheet.objects.filter(status=SheetStatus.PHOTO_ONLY).exclude(actor=user)
    queue = queue.exclude(
        pk__in=ResultSheet.objects.filter(status=SheetStatus.ENTRY, actor=user).values("photo_sheet_id")
    )
    if role_of(user) != Role.LEAD:
        q = Q(pk__in=[])
        for election_id, path in scope_areas(user):
            q |= Q(election_id=election_id, area_path__startswith=path)
        queue = queue.filter(q)
    return queue.annotate(typed=Count("entries", filter=Q(entries__status=SheetStatus.ENTRY))).order_by("-typed", "id")


def transcription_next(*, user) -> ResultSheet | None:
    return transcription_queue(user=user).select_related("table__place", "category").first()


@dataclass
class TypistStats:
    user_id: int
    name: str
    entries: int
    disagreements: int


def transcription_stats(*, user) -> list[TypistStats]:
    """Entries and disagreements per person at the desk (for leads and coordinators)."""
    entries = ResultSheet.objects.filter(status=SheetStatus.ENTRY)
    if role_of(user) != Role.LEAD:
        q = Q(pk__in=[])
        for election_id, path in scope_areas(user):
            q |= Q(election_id=election_id, area_path__startswith=path)
        entries = entries.filter(q)
    per_person: dict[int, TypistStats] = {}
    # Flags are JSON (no portable "contains" lookup); entries are few next to the sheets, so count here.
    for actor_id, username, first, last, flags in entries.values_list(
        "actor_id", "actor__username", "actor__first_name", "actor__last_name", "flags"
    ):
        stats = per_person.setdefault(
            actor_id,
            TypistStats(user_id=actor_id, name=f"{first} {last}".strip() or username, entries=0, disagreements=0),
        )
        stats.entries += 1
        stats.disagreements += int(any(f.get("code") == "disagreed" for f in flags or []))
    return sorted(per_person.values(), key=lambda s: (-s.entries, s.name))


# --- conflicts: a table's differing sheets waiting for a coordinator ---------------------------


@dataclass
class Conflict:
    sheet: ResultSheet  # the differing sheet, waiting
    current: ResultSheet | None  # the table's figure it differs from
    at_stake: int  # votes that move for the party depending on which sheet stands
    differences: dict = field(default_factory=dict)  # field -> (current, differing)


def _scoped(queryset: QuerySet[ResultSheet], user, election: Election, area: Area | None) -> QuerySet[ResultSheet]:
    if area is not None:
        return queryset.filter(area_path__startswith=area.path)
    if role_of(user) == Role.LEAD:
        return queryset
    q = Q(pk__in=[])
    for election_id, path in scope_areas(user):
        if election_id == election.pk:
            q |= Q(area_path__startswith=path)
    return queryset.filter(q)


def conflict_list(*, user, election: Election, area: Area | None = None) -> list[Conflict]:
    """Differing sheets waiting in `user`'s scope (or `area`, checked by the caller), ranked like the
    discrepancies: the votes at stake for the party first (whichever sheet stands), then the table."""
    waiting = _scoped(
        ResultSheet.objects.filter(election=election, official=False, current=False, status=SheetStatus.CONFLICT),
        user,
        election,
        area,
    ).select_related("table__place", "category", "actor")
    sheets = list(waiting)
    if not sheets:
        return []
    currents: dict[tuple[int, int], ResultSheet] = {}
    for start in range(0, len(sheets), 5000):
        chunk = sheets[start : start + 5000]
        for standing in ResultSheet.objects.filter(
            table_id__in={s.table_id for s in chunk}, official=False, current=True
        ).select_related("actor"):
            currents[(standing.table_id, standing.category_id)] = standing
    lists = {bl.pk: bl for bl in BallotList.objects.filter(category__election=election)}
    found = []
    for sheet in sheets:
        current = currents.get((sheet.table_id, sheet.category_id))
        at_stake, differences = 0, dict[str, tuple]()
        if current is not None:
            differences = _difference(current, sheet, lists)
            at_stake = max(_votes_at_stake(current, sheet, lists), _votes_at_stake(sheet, current, lists))
        found.append(Conflict(sheet=sheet, current=current, at_stake=at_stake, differences=differences))
    found.sort(key=lambda c: (-c.at_stake, c.sheet.table.number, c.sheet.category_id, c.sheet.pk))
    return found


@dataclass
class SheetColumn:
    sheet: ResultSheet
    who: str  # the person who sent it, and how
    values: list[int | None]  # in the order of `ConflictView.rows`
    waiting: bool


@dataclass
class ConflictView:
    table: Table
    category: Category
    rows: list[str]  # list names, then the totals' labels
    columns: list[SheetColumn]  # the current sheet first, then the waiting ones
    differing_rows: set[int]

    @property
    def grid(self) -> list[tuple[str, list[int | None], bool]]:
        """(label, one value per column, whether they differ) for each row of the comparison."""
        return [
            (label, [c.values[i] for c in self.columns], i in self.differing_rows) for i, label in enumerate(self.rows)
        ]


def conflict_view(*, sheet: ResultSheet) -> ConflictView:
    """One table and category side by side: its current sheet and every differing sheet waiting."""
    table = Table.objects.select_related("place__area").get(pk=sheet.table_id)
    sheets = list(
        ResultSheet.objects.filter(table_id=sheet.table_id, category_id=sheet.category_id, official=False)
        .filter(Q(current=True) | Q(status=SheetStatus.CONFLICT, current=False))
        .select_related("actor")
        .order_by("-current", "id")
    )
    lists = ballot_list_for_table(table=table, category=sheet.category)
    totals = [("blank", _("en blanco")), ("null", _("nulos")), ("contested", _("recurridos"))]
    totals.append(("challenged", _("impugnados")))
    rows = [bl.name for bl in lists] + [label for _n, label in totals] + [_("votantes")]
    columns = []
    for s in sheets:
        values: list[int | None] = [s.votes.get(str(bl.pk)) for bl in lists]
        values += [getattr(s, name) for name, _label in totals] + [s.voters]
        actor = s.actor.get_full_name() or s.actor.get_username() if s.actor else ""
        who = f"{actor} · {s.get_source_display()}" if actor else str(s.get_source_display())
        columns.append(SheetColumn(sheet=s, who=who, values=values, waiting=not s.current))
    differing = {i for i in range(len(rows)) if len({c.values[i] for c in columns}) > 1}
    return ConflictView(table=table, category=sheet.category, rows=rows, columns=columns, differing_rows=differing)


# --- official imports uploaded from the console -------------------------------------------------


def official_import_list(*, election: Election, limit: int = 10) -> list[OfficialImport]:
    return list(
        OfficialImport.objects.filter(election=election)
        .select_related("created_by", "category")
        .order_by("-id")[:limit]
    )


def official_import_progress(*, job: OfficialImport) -> int:
    """Percent of the file read by the worker (the import runs in one transaction: progress is in the cache)."""
    if not job.working:
        return 100
    done_total = cache.get(job.progress_key)
    if not done_total or not done_total[1]:
        return 0
    return min(99, int(100 * done_total[0] / done_total[1]))
