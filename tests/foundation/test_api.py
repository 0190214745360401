"""The API skeleton: token authentication, `me`, and one error shape with stable codes in the user's language."""

import pytest
from django.http import Http404
from django.urls import reverse
from rest_framework import serializers
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from backend.accounts.models import Role
from backend.core.exceptions import ApplicationError, PermissionDenied
from tests.factories import UserFactory

PASSWORD = "clave-de-prueba-123"


def _token_for(client: APIClient, username: str, password: str = PASSWORD):
    return client.post(reverse("api-auth-token"), {"username": username, "password": password}, format="json")


def test_a_token_is_obtained_with_username_and_password_and_opens_the_api(north_coordinator):
    # given
    client = APIClient()
    # when
    response = _token_for(client, "coord-norte")
    # then
    assert response.status_code == 200
    token = response.json()["token"]
    me = client.get(reverse("api-me"), HTTP_AUTHORIZATION=f"Token {token}")
    assert me.status_code == 200
    assert me.json() == {
        "id": north_coordinator.pk,
        "username": "coord-norte",
        "role": "coordinator",
        "scopes": ["/cba/norte/"],
    }


def test_the_same_token_is_returned_twice(lead):
    client = APIClient()
    assert _token_for(client, "lead").json() == _token_for(client, "lead").json()


@pytest.mark.parametrize(("username", "password"), [("lead", "otra-clave"), ("nadie", PASSWORD)])
def test_wrong_password_and_unknown_user_get_the_same_answer(lead, username, password):
    response = _token_for(APIClient(), username, password)
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Usuario o contraseña incorrectos.",
        "detail": {},
    }


def test_an_inactive_user_gets_no_token(db):
    UserFactory(username="baja", role=Role.COORDINATOR, is_active=False)
    assert _token_for(APIClient(), "baja").json()["code"] == "invalid_credentials"


def test_missing_fields_are_a_validation_error_with_field_details(db):
    response = APIClient().post(reverse("api-auth-token"), {"username": "lead"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == "Los datos enviados no son válidos."
    assert list(body["detail"]) == ["password"]


def test_me_needs_authentication_and_says_so_with_a_401(db):
    response = APIClient().get(reverse("api-me"))
    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Tenés que iniciar sesión para hacer esto.",
        "detail": {},
    }
    assert response.headers["WWW-Authenticate"] == "Token"


def test_errors_are_in_english_when_asked(db):
    response = APIClient().get(reverse("api-me"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response.json()["message"] == "You must be logged in to do this."


def test_a_bad_token_is_authentication_failed(db):
    response = APIClient().get(reverse("api-me"), HTTP_AUTHORIZATION="Token nope")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_an_unknown_api_path_is_a_json_404(db):
    response = APIClient().get("/api/no-existe/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No encontramos lo que buscás.", "detail": {}}


def test_throttling_answers_429_with_a_code_and_the_wait(lead, monkeypatch):
    # given: a tight limit on the token endpoint
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "auth", "2/min")
    client = APIClient()
    _token_for(client, "lead", "mal-1")
    _token_for(client, "lead", "mal-2")
    # when
    response = _token_for(client, "lead", "mal-3")
    # then
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "throttled"
    assert 0 < body["detail"]["wait"] <= 60
    assert body["message"].startswith("Demasiados pedidos: probá de nuevo en ")
    assert "Retry-After" in response.headers
    english = client.post(
        reverse("api-auth-token"), {"username": "lead", "password": "x"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["message"].startswith("Too many requests: try again in ")


class _Boom(APIView):
    """A view raising whatever the test asks, to exercise the handler on every error kind."""

    authentication_classes: list = []
    permission_classes: list = []

    class InputSerializer(serializers.Serializer):
        count = serializers.IntegerField(min_value=1)

    def get(self, request):
        kind = request.query_params["kind"]
        if kind == "application":
            raise ApplicationError("Ese lugar ya tiene todos sus fiscales.", code="no_free_slot", extra={"slot": 0})
        if kind == "forbidden":
            raise PermissionDenied()
        if kind == "missing":
            raise Http404
        self.InputSerializer(data={"count": 0}).is_valid(raise_exception=True)
        return None


@pytest.mark.parametrize(
    ("kind", "status", "code", "message_es", "message_en"),
    [
        ("application", 400, "no_free_slot", "Ese lugar ya tiene todos sus fiscales.", None),
        ("forbidden", 403, "permission_denied", "No tenés permiso para hacer esto.", "You are not allowed to do this."),
        ("missing", 404, "not_found", "No encontramos lo que buscás.", "We could not find what you are looking for."),
        ("invalid", 400, "validation_error", "Los datos enviados no son válidos.", "The data sent is not valid."),
    ],
)
def test_every_error_has_a_stable_code_and_a_translated_message(db, kind, status, code, message_es, message_en):
    from django.utils import translation

    view = _Boom.as_view()
    with translation.override("es-ar"):
        response = view(APIRequestFactory().get("/x", {"kind": kind}))
    assert response.status_code == status
    assert (response.data["code"], response.data["message"]) == (code, message_es)
    if message_en:
        with translation.override("en"):
            english = view(APIRequestFactory().get("/x", {"kind": kind}))
        assert english.data["message"] == message_en


def test_the_schema_and_the_docs_are_served(db):
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/auth/token/", "/api/me/", "/api/elections/"} <= set(paths)
    assert client.get("/api/docs/").status_code == 200


def test_the_schema_has_no_warnings():
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
