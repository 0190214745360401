"""Coverage page and export: numbers per area, scope, filters, xlsx escaped and logged."""

from io import BytesIO

from django.urls import reverse
from openpyxl import load_workbook

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_confirm, assignment_create
from backend.console.models import ExportKind, ExportLog
from tests.factories import VolunteerFactory


def _assign(place, table, volunteer=None):
    return assignment_create(
        volunteer=volunteer or VolunteerFactory(), place=place, table=table, role=AssignmentRole.TABLE, source="web"
    )


def test_coordinator_sees_only_their_subtree(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    html = client.get(reverse("console:coverage")).content.decode()
    # then
    assert "Norte" in html
    assert "Sur" not in html
    assert "Córdoba" not in html


def test_lead_sees_the_whole_tree_from_the_district(client, geo, lead):
    # given
    client.force_login(lead)
    # when
    root = client.get(reverse("console:coverage")).content.decode()
    district = client.get(reverse("console:coverage"), {"area": geo.district.pk}).content.decode()
    # then
    assert "Córdoba" in root
    assert "Norte" in district and "Sur" in district


def test_drilling_outside_the_scope_is_not_found(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:coverage"), {"area": geo.south.pk})
    # then
    assert response.status_code == 404


def test_numbers_follow_assignments_and_confirmations(client, geo, north_coordinator):
    # given: 3 tables + 1 place watcher = 4 slots in the north; two assigned, one confirmed
    first = _assign(geo.north_place, geo.north_tables[0])
    _assign(geo.north_place, geo.north_tables[1])
    assignment_confirm(assignment=first, source="web")
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:coverage"))
    # then
    total = response.context["total"]
    assert (total.slots, total.assigned, total.confirmed, total.checked_in, total.uncovered) == (4, 2, 1, 0, 2)


def test_drill_down_reaches_the_places(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:coverage"), {"area": geo.north_town.pk})
    # then
    assert [p.code for p, _cov in response.context["places"]] == ["N-1"]
    assert reverse("console:place", args=[geo.north_place.pk]) in response.content.decode()


def test_uncovered_filter_hides_complete_places(client, geo, lead):
    # given: every slot of the south place filled; the north place empty
    for table in geo.south_tables:
        _assign(geo.south_place, table)
    assignment_create(volunteer=VolunteerFactory(), place=geo.south_place, role=AssignmentRole.PLACE, source="web")
    client.force_login(lead)
    # when
    response = client.get(reverse("console:coverage"), {"area": geo.district.pk, "ver": "sin-cubrir"})
    # then
    assert [a.code for a, _cov in response.context["nodes"]] == ["norte"]


def test_unconfirmed_filter_keeps_areas_waiting_for_answers(client, geo, lead):
    # given: one proposal in the south, nothing in the north
    _assign(geo.south_place, geo.south_tables[0])
    client.force_login(lead)
    # when
    response = client.get(reverse("console:coverage"), {"area": geo.district.pk, "ver": "sin-confirmar"})
    # then
    assert [a.code for a, _cov in response.context["nodes"]] == ["sur"]


def test_coverage_export_is_scoped_escaped_and_logged(client, geo, north_coordinator):
    # given: a place whose name a spreadsheet would run as a formula
    geo.north_place.name = '=HYPERLINK("http://evil","x")'
    geo.north_place.save()
    _assign(geo.north_place, geo.north_tables[0])
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:coverage_export"))
    # then
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Área", "Código", "Establecimiento")
    assert len(rows) == 2
    assert rows[1][1] == "N-1"
    assert rows[1][2] == '\'=HYPERLINK("http://evil","x")'
    assert rows[1][4:9] == (4, 1, 0, 0, 3)
    log = ExportLog.objects.get()
    assert (log.user, log.kind, log.rows) == (north_coordinator, ExportKind.COVERAGE, 1)


def test_places_come_worst_first_fifty_to_a_page(client, geo, lead):
    # given: 60 more places in the north town, one of them fully covered
    from tests.factories import PollingPlaceFactory

    for n in range(60):
        PollingPlaceFactory(election=geo.election, area=geo.north_town, code=f"X-{n:02d}")
    for table in geo.north_tables:
        _assign(geo.north_place, table)
    assignment_create(volunteer=VolunteerFactory(), place=geo.north_place, role=AssignmentRole.PLACE, source="web")
    client.force_login(lead)
    # when
    first = client.get(reverse("console:coverage"), {"area": geo.north_town.pk})
    second = client.get(reverse("console:coverage"), {"area": geo.north_town.pk, "pagina": 2})
    # then
    assert len(first.context["places"]) == 50
    assert [p.code for p, _cov in second.context["places"]][-1] == "N-1"
    assert "Página 1 de 2 (61 establecimientos)" in first.content.decode()
