"""Accreditation export: watchers per place and table, scoped, escaped, logged."""

from io import BytesIO

from django.urls import reverse
from openpyxl import load_workbook

from backend.assignments.models import AssignmentRole
from backend.assignments.services import assignment_create
from backend.console.models import ExportKind, ExportLog
from tests.factories import VolunteerFactory


def test_accreditation_lists_the_watchers_in_scope(client, geo, north_coordinator):
    # given
    mallory = VolunteerFactory(first_name="@SUM(1+1)", last_name="-Rojas", dni="30111222")
    assignment_create(
        volunteer=mallory, place=geo.north_place, table=geo.north_tables[2], role=AssignmentRole.TABLE, source="web"
    )
    general = VolunteerFactory(first_name="Inés", last_name="Lima", dni="30111333")
    assignment_create(volunteer=general, place=geo.north_place, role=AssignmentRole.PLACE, source="web")
    assignment_create(
        volunteer=VolunteerFactory(), place=geo.south_place, table=geo.south_tables[0], role="table", source="web"
    )
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:accreditation_export"))
    # then
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == (
        "Apellido",
        "Nombre",
        "DNI",
        "Código establecimiento",
        "Establecimiento",
        "Dirección",
        "Mesa",
        "Rol",
    )
    body = sorted(rows[1:], key=lambda r: r[2])
    assert [(r[0], r[1], r[2], r[3], r[6], r[7]) for r in body] == [
        ("'-Rojas", "'@SUM(1+1)", "30111222", "N-1", 3, "Fiscal de mesa"),
        ("Lima", "Inés", "30111333", "N-1", None, "Fiscal general"),
    ]
    log = ExportLog.objects.get()
    assert (log.kind, log.user, log.rows, log.election) == (
        ExportKind.ACCREDITATION,
        north_coordinator,
        2,
        geo.election,
    )


def test_accreditation_for_an_area_outside_the_scope_is_not_found(client, geo, north_coordinator):
    # given
    client.force_login(north_coordinator)
    # when
    response = client.get(reverse("console:accreditation_export"), {"area": geo.south.pk})
    # then
    assert response.status_code == 404
    assert not ExportLog.objects.exists()
