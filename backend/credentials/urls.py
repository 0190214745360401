from django.urls import path

from . import views

app_name = "credentials"

urlpatterns = [
    # The QR's short link (PUBLIC_BASE_URL/v/<10 characters>, see selectors.verification_url).
    path("v/<str:token>", views.verify, name="verify"),
]
