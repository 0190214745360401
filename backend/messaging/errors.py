"""Error codes raised by the sms services."""

from enum import StrEnum


class SmsErrorCode(StrEnum):
    NO_RECIPIENTS = "no_recipients"
    NEEDS_APPROVAL = "needs_approval"
    ALREADY_SENT = "already_sent"
    NOT_A_LEAD = "not_a_lead"
    NOT_ALLOWED = "not_allowed"
    BAD_SEGMENT = "bad_segment"
