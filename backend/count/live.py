"""The board event of a result sheet (`count.changed`) for `core.live.live_send`: the quick-count
page re-reads its numbers. Built from the row just written when the writer has it (`count_event`),
or after commit from the committed row (`count_event_after_commit`)."""

from .models import ResultSheet


def count_event(sheet: ResultSheet, *, table_number: int) -> dict:
    """The event of `sheet`, saved in this transaction (sent by live_send once it commits)."""
    return {
        "type": "count.changed",
        "election_id": sheet.election_id,
        "sheet_id": sheet.pk,
        "table_id": sheet.table_id,
        "table": table_number,
        "category_id": sheet.category_id,
        "status": sheet.status,
        "official": sheet.official,
        "path": sheet.area_path,
        "at": sheet.created_at.isoformat(),
    }


def count_event_after_commit(sheet_id: int) -> dict | None:
    sheet = ResultSheet.objects.select_related("table").filter(pk=sheet_id).first()
    if sheet is None:
        return None
    return count_event(sheet, table_number=sheet.table.number)
