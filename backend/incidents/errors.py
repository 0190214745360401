"""Error codes of incidents."""

from enum import StrEnum


class IncidentErrorCode(StrEnum):
    EMPTY_TEXT = "incident_empty_text"
    WRONG_CATEGORY = "incident_wrong_category"
    TABLE_NOT_AT_PLACE = "incident_table_not_at_place"
    RESOLVED = "incident_resolved"
    EMPTY_NOTE = "incident_empty_note"
    PHOTO_TYPE = "incident_photo_type"
    PHOTO_TOO_LARGE = "incident_photo_too_large"
    PHOTO_TOO_MANY = "incident_photo_too_many"
