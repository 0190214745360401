"""Admin for the notice outbox: read-only, to see what each volunteer was (or will be) told."""

from django.contrib import admin

from backend.core.admin import ScopedAdmin

from .models import Notice


@admin.register(Notice)
class NoticeAdmin(ScopedAdmin):
    lead_rights = frozenset({"view"})
    list_display = ["created_at", "volunteer", "kind", "assignment", "processed_at"]
    list_filter = ["kind", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["volunteer__last_name", "volunteer__first_name", "volunteer__dni", "volunteer__phone"]
    list_select_related = ["volunteer", "assignment__place", "assignment__table", "assignment__volunteer"]
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
