"""Schemathesis against the OpenAPI schema, authenticated as a lead: no input makes the API fail with a 5xx.

The schema is read from the running application (in-process WSGI), so every endpoint any app adds
to `api/` is fuzzed here without further work.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def _keep_the_test_connection():
    # The WSGI handler closes "old" connections around each request; inside the test's transaction
    # that would close it. Django's own test client disconnects these signals the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def lead_token(geo, lead, _keep_the_test_connection):
    return Token.objects.create(user=lead).key


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_the_api_answer_5xx(case, lead_token):
    case.call_and_validate(headers={"Authorization": f"Token {lead_token}"}, checks=[not_a_server_error])
