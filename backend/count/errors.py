"""Error codes of the count (ballot structure, result sheets, official imports)."""

from enum import StrEnum


class CountErrorCode(StrEnum):
    UNKNOWN_CATEGORY = "count_unknown_category"
    UNKNOWN_LIST = "count_unknown_list"
    NO_LISTS = "count_no_lists"
    NEGATIVE = "count_negative_figure"
    NOT_ALLOWED = "count_not_allowed"
    TABLE_NOT_COUNTED = "count_table_not_counted"
    BAD_FILE = "count_bad_file"
    MISSING_COLUMNS = "count_missing_columns"
    BAD_PHOTO = "count_bad_photo"
    NOTHING_TO_RESOLVE = "count_nothing_to_resolve"
    SAME_PERSON = "count_same_person_twice"
    NOT_PENDING = "count_not_pending"
    BAD_ENCODING = "count_not_utf8"
    WRONG_LAYOUT = "count_wrong_layout"
    WRONG_ELECTION = "count_wrong_election"
    IMPORT_STATE = "count_import_state"


class SheetFlag(StrEnum):
    """Why a sheet was not accepted as it came: each one is asked back to the watcher."""

    OVER_ELECTORS = "over_electors"
    SUM_MISMATCH = "sum_mismatch"
    VOTERS_DIFFER = "voters_differ_across_categories"
    DIFFERS_FROM_EARLIER = "differs_from_earlier"
    MISSING = "missing_fields"
