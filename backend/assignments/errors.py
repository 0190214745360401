"""Error codes raised by the assignment services."""

from enum import StrEnum


class AssignmentErrorCode(StrEnum):
    ALREADY_ASSIGNED = "already_assigned"
    SLOT_TAKEN = "slot_taken"
    NO_FREE_SLOT = "no_free_slot"
    TABLE_NOT_IN_PLACE = "table_not_in_place"
    ROLE_MISMATCH = "role_mismatch"
    WRONG_ELECTION = "wrong_election"
    INVALID_TRANSITION = "invalid_transition"
    LOCKED = "locked"
    NOT_ELIGIBLE = "not_eligible"
    NOT_ACTIVE = "not_active"
    SAME_ASSIGNMENT = "same_assignment"
    NOT_ELECTION_DAY = "not_election_day"
    SHIFT_INVALID = "shift_invalid"
    SHIFT_STAYS_LOCKED = "shift_stays_locked"
    NOT_A_SHIFT = "not_a_shift"
    SHIFT_CLASH = "shift_clash"
    HANDOVER_NOT_PRESENT = "handover_not_present"
    HANDOVER_NOBODY_ARRIVED = "handover_nobody_arrived"
    ABSENT_TODAY = "absent_today"
    WHOLE_ELECTION_LEADS_ONLY = "whole_election_leads_only"
