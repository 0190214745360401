"""Reads of the count: a table's ballot, its sheets, the quick count, the discrepancies."""

from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from backend.accounts.models import Role, User
from backend.elections.models import Area, Election, Table
from backend.permissions import role_of, scope_areas

from .models import BallotList, Category, CountTally, OfficialImport, ResultSheet, SheetStatus

TABLE_TOTALS_TTL = 300  # seconds


def _ancestor_paths(path: str) -> list[str]:
    codes = [c for c in path.split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def category_list_for_table(*, table: Table) -> list[Category]:
    """The categories voted at `table`: those with no districts, and those of one of its areas."""
    paths = _ancestor_paths(table.place.area.path)
    return list(
        Category.objects.filter(election_id=table.election_id)
        .filter(Q(districts__isnull=True) | Q(districts__path__in=paths))
        .distinct()
        .order_by("position", "id")
    )


def ballot_list_for_table(*, table: Table, category: Category) -> list[BallotList]:
    """The lists on `table`'s sheet for `category`, in sheet order."""
    paths = _ancestor_paths(table.place.area.path)
    return list(
        BallotList.objects.filter(category=category)
        .filter(Q(district__isnull=True) | Q(district__path__in=paths))
        .order_by("position", "id")
    )


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


def _difference(ours: ResultSheet, official: ResultSheet, lists: dict[int, BallotList]) -> tuple[int, dict]:
    differences: dict = {}
    at_stake = 0
    ids = set(ours.votes) | set(official.votes)
    for list_id in sorted(ids, key=int):
        mine, theirs = int(ours.votes.get(list_id, 0)), int(official.votes.get(list_id, 0))
        if mine == theirs:
            continue
        ballot_list = lists.get(int(list_id))
        name = ballot_list.name if ballot_list else list_id
        differences[name] = (mine, theirs)
        if ballot_list is not None and ballot_list.ours:
            at_stake += max(0, mine - theirs)
        else:
            at_stake += max(0, theirs - mine)
    for name in ("blank", "null", "contested", "challenged", "voters"):
        mine, theirs = getattr(ours, name), getattr(official, name)
        if mine is not None and theirs is not None and mine != theirs:
            differences[name] = (mine, theirs)
    return at_stake, differences


def discrepancy_list(
    *, election: Election, area: Area | None = None, category: Category | None = None
) -> list[Discrepancy]:
    """Every table x category where the party's current sheet and the official figure differ,
    ranked by the votes at stake for the party (then by the size of the difference)."""
    official = ResultSheet.objects.filter(election=election, official=True, current=True)
    if area is not None:
        official = official.filter(area_path__startswith=area.path)
    if category is not None:
        official = official.filter(category=category)
    official_by_key = {
        (s.table_id, s.category_id): s
        for s in official.only(
            "id", "table_id", "category_id", "votes", "blank", "null", "contested", "challenged", "voters"
        )
    }
    ours_qs = ResultSheet.objects.filter(election=election, official=False, current=True)
    if area is not None:
        ours_qs = ours_qs.filter(area_path__startswith=area.path)
    if category is not None:
        ours_qs = ours_qs.filter(category=category)
    lists = {bl.pk: bl for bl in BallotList.objects.filter(category__election=election)}
    found: list[tuple[ResultSheet, ResultSheet, int, dict]] = []
    for sheet in ours_qs.only(
        "id",
        "table_id",
        "category_id",
        "votes",
        "blank",
        "null",
        "contested",
        "challenged",
        "voters",
        "photo",
        "actor_id",
    ).iterator(chunk_size=5000):
        theirs = official_by_key.get((sheet.table_id, sheet.category_id))
        if theirs is None or sheet.figures() == theirs.figures():
            continue
        at_stake, differences = _difference(sheet, theirs, lists)
        found.append((sheet, theirs, at_stake, differences))
    if not found:
        return []
    tables = {t.pk: t for t in Table.objects.filter(pk__in={s.table_id for s, *_ in found}).select_related("place")}
    areas = {a.pk: a for a in Area.objects.filter(election=election).only("id", "parent_id", "name")}
    categories = {c.pk: c for c in Category.objects.filter(election=election)}
    watchers = _watcher_names(found)
    result = []
    for sheet, theirs, at_stake, differences in found:
        table = tables[sheet.table_id]
        area_chain = _area_chain(areas, table.place.area_id)
        result.append(
            Discrepancy(
                table_id=table.pk,
                table=table.number,
                category_id=sheet.category_id,
                category=categories[sheet.category_id].name,
                district=area_chain[0] if len(area_chain) > 0 else "",
                section=area_chain[1] if len(area_chain) > 1 else "",
                circuit=area_chain[2] if len(area_chain) > 2 else "",
                place=table.place.name,
                ours=sheet,
                official=theirs,
                at_stake=at_stake,
                differences=differences,
                watcher=watchers.get(sheet.actor_id, "") if sheet.actor_id else "",
            )
        )
    result.sort(key=lambda d: (-d.at_stake, -sum(abs(a - b) for a, b in d.differences.values()), d.table))
    return result


def _area_chain(areas: dict[int, Area], area_id: int | None) -> list[str]:
    """Names from the district down to the place's area (district, section, circuit...)."""
    chain = []
    node = areas.get(area_id) if area_id is not None else None
    while node is not None:
        chain.append(node.name)
        node = areas.get(node.parent_id) if node.parent_id is not None else None
    return list(reversed(chain))


def _watcher_names(found) -> dict[int, str]:
    ids = {s.actor_id for s, *_ in found if s.actor_id}
    return {u.pk: (u.get_full_name() or u.get_username()) for u in User.objects.filter(pk__in=ids)}


@dataclass
class SheetForm:
    category: Category
    lists: list[BallotList]
    latest: ResultSheet | None  # the newest party sheet of this table and category


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
            loss, differences = _difference(current, sheet, lists)
            at_stake = max(loss, _difference(sheet, current, lists)[0])
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
