from django.urls import path

from . import views

app_name = "sms"

urlpatterns = [
    path("sms/inbound/", views.inbound_webhook, name="inbound"),
    path("sms/status/", views.status_webhook, name="status"),
    path("dev/sms/", views.dev_page, name="dev"),
]
