from django.urls import path, re_path

from . import views

app_name = "portal"

urlpatterns = [
    path("a/<str:token>", views.magic_link_open, name="link"),
    path("mi/", views.mine, name="mine"),
    path("mi/confirmar/", views.confirm, name="confirm"),
    path("mi/no-puedo/", views.decline, name="decline"),
    path("mi/llegue/", views.check_in, name="check_in"),
    path("mi/entregue/", views.hand_over, name="hand_over"),
    path("mi/mesa/", views.table_report_next, name="table_report"),
    path("mi/canal/", views.channel_set, name="channel"),
    path("mi/acta/", views.sheet_form, name="sheet"),
    path("mi/acta/enviar/", views.sheet_post, name="sheet_post"),
    path("mi/credencial.pdf", views.credential_pdf, name="credential_pdf"),
    path("mi/problema/", views.incident_report_web, name="incident_report"),
    path("mi/escuela/mesa/", views.school_table_report, name="school_table_report"),
    path("mi/escuela/tengo-fiscal/", views.school_walk_in, name="school_walk_in"),
    # Short links from SMS: 22 base-62 characters at the root (see backend.accounts.services).
    re_path(r"^(?P<key>[0-9A-Za-z]{22})$", views.short_link_open, name="short_link"),
]
