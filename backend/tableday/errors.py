"""Error codes of the table's timeline."""

from enum import StrEnum


class TableReportErrorCode(StrEnum):
    UNKNOWN_STATE = "unknown_table_state"
    CORRECTION_NEEDS_REASON = "correction_needs_reason"
    CORRECTION_NEEDS_PROGRESS_STATE = "correction_needs_progress_state"
