"""What Twilio posts to the SMS webhook and the TwiML it gets back: shared by the webhook tests."""

import uuid


def inbound_params(phone: str, body: str, sid: str | None = None, **extra) -> dict:
    """The form Twilio posts for one SMS from `phone` (sign it with the `signed_post` fixture)."""
    return {
        "MessageSid": sid or f"SM{uuid.uuid4().hex}",
        "AccountSid": "AC00000000000000000000000000000000",
        "From": phone,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def twiml_text(response) -> str:
    """The webhook's answer, which must be TwiML (200, text/xml) whatever the text said."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    return response.content.decode()
