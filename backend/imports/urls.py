"""The upload page for leads: /importar/."""

from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:batch_id>/", views.batch_detail, name="detail"),
    path("<int:batch_id>/aplicar/", views.batch_apply_view, name="apply"),
    path("<int:batch_id>/columnas/", views.batch_remap_view, name="remap"),
    path("<int:batch_id>/informe/", views.report, name="report"),
]
