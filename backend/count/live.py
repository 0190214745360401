"""The board event of a result sheet (`count.changed`), built after commit for `core.live.live_send`:
the quick-count page re-reads its numbers."""

from .models import ResultSheet


def count_event_after_commit(sheet_id: int) -> dict | None:
    sheet = ResultSheet.objects.select_related("table", "category").filter(pk=sheet_id).first()
    if sheet is None:
        return None
    return {
        "type": "count.changed",
        "election_id": sheet.election_id,
        "sheet_id": sheet.pk,
        "table_id": sheet.table_id,
        "table": sheet.table.number,
        "category_id": sheet.category_id,
        "status": sheet.status,
        "official": sheet.official,
        "path": sheet.area_path,
        "at": sheet.created_at.isoformat(),
    }
