"""Error codes raised by the account services (volunteer logins and magic links)."""

from enum import StrEnum


class PortalErrorCode(StrEnum):
    LINK_RATE_LIMITED = "link_rate_limited"
    NO_PHONE_OR_USER = "no_user"
