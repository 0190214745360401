"""Error codes raised by the credential services."""

from enum import StrEnum


class CredentialErrorCode(StrEnum):
    TEMPLATE_INVALID = "template_invalid"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNATORY_DNI_INVALID = "signatory_dni_invalid"
    NOT_ACTIVE = "not_active"
    NOT_FOUND = "not_found"
    BATCH_EMPTY = "batch_empty"
