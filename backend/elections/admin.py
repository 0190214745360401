"""Admin for elections, the area tree, polling places and tables."""

from django.contrib import admin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from backend.core.admin import ScopedAdmin, subtree_filter
from backend.threads.services import threads_create_for_places

from .models import Area, Election, PollingPlace, Table


@admin.register(Election)
class ElectionAdmin(ScopedAdmin):
    list_display = ["name", "date", "slug", "table_watchers_per_table", "place_watchers_per_place"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "date"


@admin.register(Area)
class AreaAdmin(ScopedAdmin):
    list_display = ["name", "kind", "code", "path", "depth", "priority", "election"]
    list_filter = ["election", "kind", "depth", subtree_filter("path")]
    search_fields = ["name", "code", "path"]
    autocomplete_fields = ["parent"]
    readonly_fields = ["path", "depth"]
    list_select_related = ["election"]


class TableInline(admin.TabularInline):
    model = Table
    extra = 0
    fields = ["number", "electors", "priority", "district"]
    autocomplete_fields = ["district"]
    ordering = ["number"]


@admin.register(PollingPlace)
class PollingPlaceAdmin(ScopedAdmin):
    list_display = ["code", "name", "address", "area", "table_count", "priority", "election"]
    list_filter = ["election", subtree_filter("area__path")]
    search_fields = ["code", "name", "address", "area__name"]
    autocomplete_fields = ["area"]
    list_select_related = ["area", "election"]
    inlines = [TableInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(table_count=Count("tables"))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # A place is created with its thread, so reading a thread never writes one.
        threads_create_for_places(election=obj.election)

    @admin.display(description=_("mesas"), ordering="table_count")
    def table_count(self, obj):
        return obj.table_count


@admin.register(Table)
class TableAdmin(ScopedAdmin):
    list_display = ["number", "place", "district", "electors", "priority", "election"]
    list_filter = ["election", subtree_filter("place__area__path")]
    search_fields = ["=number", "place__name", "place__code"]
    autocomplete_fields = ["place", "district"]
    list_select_related = ["place", "district", "election"]
