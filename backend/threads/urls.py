"""Pages of the station threads."""

from django.urls import path

from . import views

app_name = "threads"
urlpatterns = [
    path("<int:place_id>/", views.thread_page, name="thread"),
    path("adjuntos/<int:attachment_id>/", views.attachment_file, name="attachment"),
]
