"""Error codes raised by the thread services."""

from enum import StrEnum


class ThreadErrorCode(StrEnum):
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    MUTED = "muted"
    NOT_A_MEMBER = "not_a_member"
    WRONG_THREAD = "wrong_thread"
