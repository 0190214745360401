"""The webhook's TwiML answer is built as a string: it must be exactly what twilio's library writes."""

import pytest
from twilio.twiml.messaging_response import MessagingResponse

from sms.client import twiml_reply


def _twilio(text: str | None) -> str:
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Fiscaliza: mesa 1234 abierta. Gracias!",
        "Fiscaliza: ¿confirmás? Respondé SI o NO. Tu info: https://fz.ar/a/7Kx2?x=1&y=2",
        "a & b <c> \"d\" 'e' ]]> &amp; \n second line\ttab",
        "emoji 🗳️ and accents ñÑáéíóú",
    ],
)
def test_the_reply_is_the_text_twilios_messaging_response_writes(text):
    assert twiml_reply(text) == _twilio(text)
