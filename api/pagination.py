"""Pagination used by every list endpoint, and the cursor the large assignment list walks by."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class DefaultPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class AssignmentCursorPagination(CursorPagination):
    """Assignments grouped by place, then role, table, slot: `next` and `previous` are opaque cursors.

    At national size (100,000 assignments and more) a numbered page sorted by place code had to
    count and sort every assignment before answering page 1. A cursor on the place id (ties kept in
    order by role, table, slot and id) is walked through the assignment's own place index: page 1
    and page 2,000 read the same 50 rows, and no total is counted.
    """

    ordering = ("place_id", "role", "table_id", "slot", "id")
    page_size_query_param = "page_size"
    max_page_size = 500
