from django.contrib import admin

from .models import Broadcast, InboundMessage, MessageTemplate, OutboundMessage


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "body", "transliterate", "updated_at"]


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "to", "kind", "status", "provider_status", "segments", "attempts", "error_code", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "sid"]
    raw_id_fields = ["volunteer", "notice", "broadcast"]


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["id", "from_number", "keyword", "body", "received_at"]
    search_fields = ["from_number", "sid"]
    raw_id_fields = ["volunteer"]


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ["id", "election", "created_by", "status", "recipient_count", "created_at"]
    raw_id_fields = ["created_by", "approved_by"]
