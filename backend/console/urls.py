"""Console routes: `/` and login at the top, every page under /consola/."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from .views import (
    autoassign,
    board,
    count,
    count_official,
    coverage,
    credentials,
    day,
    exports,
    home,
    imports,
    instructions,
    tableday,
    volunteers,
)

app_name = "console"

console_patterns = [
    path("", coverage.coverage, name="coverage"),
    path("cobertura.xlsx", exports.coverage_export, name="coverage_export"),
    path("establecimientos/<int:pk>/", board.place, name="place"),
    path("establecimientos/<int:pk>/candidatos/", board.candidates, name="candidates"),
    path("asignaciones/nueva/", board.assign, name="assign"),
    path("asignaciones/<int:pk>/liberar/", board.unassign, name="unassign"),
    path("asignaciones/<int:pk>/fijar/", board.lock, name="lock"),
    path("asignaciones/<int:pk>/turno/", board.shift, name="shift"),
    path("asignaciones/<int:pk>/intercambiar/", board.swap, name="swap"),
    path("asignaciones/<int:pk>/presente/", board.check_in, name="check_in"),
    path("asignaciones/<int:pk>/reemplazar/", day.replace, name="replace"),
    path("asignaciones/<int:pk>/propuestas/", day.late_proposals, name="late_proposals"),
    path("asignacion-automatica/", autoassign.auto_assign, name="auto_assign"),
    path("fiscales/", volunteers.volunteers, name="volunteers"),
    path("fiscales/<int:pk>/", volunteers.volunteer, name="volunteer"),
    path("fiscales/<int:pk>/editar/", volunteers.volunteer_edit, name="volunteer_edit"),
    path("fiscales/<int:pk>/revocar-enlaces/", volunteers.volunteer_links_revoke, name="volunteer_links_revoke"),
    path("importar/", imports.imports, name="imports"),
    path("instrucciones/", instructions.instructions, name="instructions"),
    path("instrucciones/vista-previa/", instructions.instruction_preview, name="instruction_preview"),
    path("instrucciones/nueva/", instructions.instruction_create, name="instruction_create"),
    path("instrucciones/<int:pk>/", instructions.instruction, name="instruction"),
    path("instrucciones/<int:pk>/enviar/", instructions.instruction_send, name="instruction_send"),
    path("instrucciones/<int:pk>/aprobar/", instructions.instruction_approve, name="instruction_approve"),
    path("instrucciones/<int:pk>/cancelar/", instructions.instruction_cancel, name="instruction_cancel"),
    path("dia/", day.election_day, name="election_day"),
    path("dia/mesas/", tableday.day_board, name="day_board"),
    path("dia/establecimientos/<int:pk>/", tableday.day_place, name="day_place"),
    path("dia/mesas/<int:pk>/", tableday.day_table, name="day_table"),
    path("dia/mesas/<int:pk>/corregir/", tableday.day_table_correct, name="day_table_correct"),
    path("dia/incidentes/", tableday.incident_board, name="incident_board"),
    path("dia/incidentes.xlsx", tableday.incident_export, name="incident_export"),
    path("dia/incidentes/fotos/<int:pk>/", tableday.incident_photo, name="incident_photo"),
    path("dia/incidentes/<int:pk>/tomar/", tableday.incident_take, name="incident_take"),
    path("dia/incidentes/<int:pk>/resolver/", tableday.incident_resolve, name="incident_resolve"),
    path("dia/incidentes/<int:pk>/nota/", tableday.incident_note, name="incident_note"),
    path("acreditacion.xlsx", exports.accreditation_export, name="accreditation_export"),
    path("exportaciones/<int:pk>/", exports.export_job, name="export_job"),
    path("exportaciones/<int:pk>.xlsx", exports.export_job_download, name="export_job_download"),
    path("conteo/", count.quick_count_page, name="quick_count"),
    path("conteo.xlsx", count.quick_count_export, name="quick_count_export"),
    path("discrepancias/", count.discrepancies_page, name="discrepancies"),
    path("carga-de-actas/", count.transcription_desk, name="transcription"),
    path("resultados-oficiales/", count_official.official_upload, name="official_upload"),
    path("resultados-oficiales/<int:pk>/", count_official.official_import, name="official_import"),
    path("resultados-oficiales/<int:pk>/aplicar/", count_official.official_apply, name="official_apply"),
    path("actas-en-conflicto/", count_official.conflicts, name="conflicts"),
    path("actas-en-conflicto/<int:pk>/", count_official.conflict, name="conflict"),
    path("carga-de-actas/<int:pk>/", count.transcription_post, name="transcription_post"),
    path("credenciales/", credentials.credentials_home, name="credentials"),
    path("credenciales/establecimiento/<int:pk>.pdf", credentials.place_pdf, name="credentials_place_pdf"),
    path("credenciales/asignacion/<int:pk>.pdf", credentials.assignment_pdf, name="credentials_assignment_pdf"),
    path("credenciales/lotes/", credentials.batch_start, name="credentials_batch_start"),
    path("credenciales/lotes/<int:pk>/", credentials.batch, name="credentials_batch"),
    path("credenciales/lotes/<int:pk>.zip", credentials.batch_download, name="credentials_batch_download"),
    path("credenciales/acreditacion.xlsx", credentials.accreditation_xlsx, name="credentials_accreditation_xlsx"),
    path("credenciales/acreditacion.pdf", credentials.accreditation_pdf_view, name="credentials_accreditation_pdf"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("consola/", include(console_patterns)),
]

# Outside the namespace: Django's auth machinery looks these names up as "login" and "logout".
auth_urlpatterns = [
    path(
        "entrar/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
]
