"""The webhook's signature check answers as twilio's own `RequestValidator.validate` on the same inputs."""

import pytest
from twilio.request_validator import RequestValidator

from sms.client import signature_valid

TOKEN = "12345678901234567890123456789012"
URLS = [
    "https://fiscaliza.example.org/sms/inbound/",
    "https://fiscaliza.example.org:443/sms/inbound/",
    "http://127.0.0.1:8000/sms/inbound/",
    "http://127.0.0.1/sms/status/?m=42",
    "https://fiscaliza.example.org/sms/status/?m=42&x=%C3%B1",
]
PARAMS = [
    {},
    {"MessageSid": "SM1", "From": "+5493515550001", "Body": "SI voy"},
    {"MessageSid": "SM2", "Body": "llegué ✅ ñandú", "NumMedia": "0", "To": ""},
]


def _signatures(url: str, params: dict) -> dict[str, str]:
    """What a request may carry: Twilio's signature of the URL as given, with its port, without it, or not."""
    from urllib.parse import urlparse

    from twilio.request_validator import add_port, remove_port

    good = RequestValidator(TOKEN)
    parsed = urlparse(url)
    correct = good.compute_signature(url, params)
    return {
        "as given": correct,
        "with port": good.compute_signature(add_port(parsed), params),
        "without port": good.compute_signature(remove_port(parsed), params),
        "other token": RequestValidator(TOKEN[::-1]).compute_signature(url, params),
        "other body": good.compute_signature(url, {**params, "Body": "otro"}),
        "truncated": correct[:-2],
        "not ascii": "ñ" + correct[1:],
        "blank": "",
    }


CASES = [
    (url, params, kind, signature)
    for url in URLS
    for params in PARAMS
    for kind, signature in _signatures(url, params).items()
]


@pytest.mark.parametrize(
    ("url", "params", "kind", "signature"), CASES, ids=[f"{c[0]}-{len(c[1])}-{c[2]}" for c in CASES]
)
def test_signature_check_agrees_with_twilios_validator(settings, url, params, kind, signature):
    # given
    settings.TWILIO_AUTH_TOKEN = TOKEN
    # when / then: the same answer as twilio's own (an empty signature is refused before either)
    expected = bool(signature) and RequestValidator(TOKEN).validate(url, params, signature)
    assert signature_valid(url=url, params=params, signature=signature) is expected
    if kind in {"as given", "with port", "without port"}:
        assert expected is True
    else:
        assert expected is False
