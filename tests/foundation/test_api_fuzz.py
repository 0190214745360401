"""Schemathesis against the OpenAPI schema, authenticated as a lead: no input makes the API fail with a 5xx.

The schema is read from the running application (in-process WSGI), so every endpoint any app adds
to `api/` is fuzzed here without further work.
"""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def lead_token(geo, lead):
    return Token.objects.create(user=lead).key


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_input_makes_the_api_answer_5xx(case, lead_token):
    case.call_and_validate(headers={"Authorization": f"Token {lead_token}"}, checks=[not_a_server_error])
