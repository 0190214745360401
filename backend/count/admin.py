"""Admin of the count: the ballot (categories with their lists) is entered here by leads; sheets and
their events are shown read-only (the audit trail); a coordinator's resolution goes through the API."""

from django.contrib import admin

from backend.core.admin import ReadOnlyInline, ScopedAdmin

from .models import BallotList, Category, ResultSheet, SheetEvent


class BallotListInline(admin.TabularInline):
    model = BallotList
    extra = 1
    fields = ["position", "name", "number", "district", "ours"]
    autocomplete_fields = ["district"]


@admin.register(Category)
class CategoryAdmin(ScopedAdmin):
    list_display = ["code", "name", "position", "election"]
    list_filter = ["election"]
    search_fields = ["code", "name"]
    filter_horizontal = ["districts"]
    inlines = [BallotListInline]


class SheetEventInline(ReadOnlyInline):
    model = SheetEvent
    fields = ["created_at", "kind", "actor", "note"]
    readonly_fields = ["created_at", "kind", "actor", "note"]


@admin.register(ResultSheet)
class ResultSheetAdmin(ScopedAdmin):
    lead_rights = frozenset({"view"})  # sheets are never edited: a correction is a new sheet
    list_display = ["id", "table", "category", "source", "status", "current", "official", "voters", "created_at"]
    list_filter = ["status", "source", "official", "current", "category"]
    search_fields = ["table__number", "table__place__name", "table__place__code"]
    list_select_related = ["table", "category"]
    readonly_fields = [f.name for f in ResultSheet._meta.fields]
    inlines = [SheetEventInline]
