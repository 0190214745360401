"""Error codes raised by the sms services."""

from enum import StrEnum


class SmsErrorCode(StrEnum):
    NO_RECIPIENTS = "no_recipients"
    NEEDS_APPROVAL = "needs_approval"
    ALREADY_SENT = "already_sent"
    ALREADY_FINISHED = "already_finished"
    NOT_A_LEAD = "not_a_lead"
    NOT_ALLOWED = "not_allowed"
    BAD_SEGMENT = "bad_segment"
    # Some recipients have no value for a {variable} of the text (unassigned people and {escuela}...).
    MISSING_VALUES = "missing_values"
    # People left the audience since it was fixed; the send must be confirmed with the new count.
    AUDIENCE_CHANGED = "audience_changed"
    # The send would take longer than Twilio keeps a message queued (SMS_QUEUE_MAX_HOURS).
    QUEUE_LIMIT = "queue_limit"
