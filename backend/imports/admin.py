from django.contrib import admin

from .models import ImportBatch, ImportRow


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "election", "file_name", "status", "created", "updated", "unchanged", "rejected"]
    list_filter = ["kind", "status", "election"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ImportRow)
class ImportRowAdmin(admin.ModelAdmin):
    list_display = ["batch", "row_number", "status", "reason"]
    list_filter = ["status"]
    readonly_fields = ["batch", "row_number", "status", "reason", "has_warning"]
