"""Admin for threads: read the audit of moderation, look messages up."""

from django.contrib import admin

from .models import AnnouncementDelivery, Message, Thread, ThreadModerationEvent, ThreadMute


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["place", "election", "created_at"]
    search_fields = ["place__name", "place__code"]
    raw_id_fields = ["place"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "author_user", "author_volunteer", "source", "announcement", "pinned", "hidden"]
    list_filter = ["source", "announcement", "pinned", "hidden"]
    raw_id_fields = ["thread", "author_user", "author_volunteer"]


@admin.register(ThreadModerationEvent)
class ThreadModerationEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "thread", "kind", "actor", "message", "target_volunteer", "reason"]
    list_filter = ["kind"]
    raw_id_fields = ["thread", "actor", "message", "target_user", "target_volunteer"]

    def has_change_permission(self, request, obj=None):
        return False  # the audit trail is read-only


@admin.register(ThreadMute)
class ThreadMuteAdmin(admin.ModelAdmin):
    list_display = ["thread", "volunteer", "user", "created_by", "created_at"]
    raw_id_fields = ["thread", "volunteer", "user", "created_by"]


@admin.register(AnnouncementDelivery)
class AnnouncementDeliveryAdmin(admin.ModelAdmin):
    list_display = ["message", "volunteer", "notice", "created_at"]
    raw_id_fields = ["message", "volunteer", "notice"]
