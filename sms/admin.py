from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Broadcast, InboundMessage, MessageTemplate, OutboundMessage
from .texts import template_preview_longest


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "body", "transliterate", "segments_longest", "updated_at"]
    readonly_fields = ["preview_longest"]

    @admin.display(description=_("segmentos con la escuela de nombre más largo"))
    def segments_longest(self, obj: MessageTemplate) -> int:
        return template_preview_longest(obj.body, translit=obj.transliterate).segments if obj.body else 0

    @admin.display(description=_("así llega con la escuela de nombre más largo"))
    def preview_longest(self, obj: MessageTemplate) -> str:
        if not obj.body:
            return "—"
        rendered = template_preview_longest(obj.body, translit=obj.transliterate)
        label = _("1 segmento") if rendered.segments == 1 else _("%(n)s segmentos") % {"n": rendered.segments}
        return format_html(
            "<strong>{}</strong> ({}, {})<br>{}", label, rendered.encoding, len(rendered.body), rendered.body
        )


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
