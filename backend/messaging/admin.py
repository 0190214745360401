from collections.abc import Callable

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.core.admin import ScopedAdmin
from backend.core.exceptions import ApplicationError

from . import broadcasts
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
class BroadcastAdmin(ScopedAdmin):
    """Read-only rows (a coordinator sees their own); approve, send and cancel go through the services
    the console and the API call, which also decide who may do what."""

    lead_rights = frozenset({"view"})

    list_display = [
        "id",
        "election",
        "created_by",
        "status",
        "recipient_count",
        "estimated_cost",
        "currency",
        "created_at",
    ]
    list_filter = ["status"]
    raw_id_fields = ["created_by", "approved_by", "sent_by", "cancelled_by"]
    actions = ["approve", "send", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False  # the audience is computed by broadcast_create (console or API), never typed in

    def _apply(self, request, queryset, service: Callable, done: Callable[[int], str]) -> None:
        count = 0
        for broadcast in queryset:
            try:
                result = service(actor=request.user, broadcast=broadcast)
            except ApplicationError as exc:
                self.message_user(request, f"#{broadcast.pk}: {exc.message}", level=messages.ERROR)
                continue
            count += 1
            if service is broadcasts.broadcast_cancel:
                self.message_user(request, f"#{broadcast.pk}: {broadcasts.broadcast_cancel_summary(result)}")
        if count:
            self.message_user(request, done(count))

    @admin.action(description=_("Aprobar los envíos elegidos"))
    def approve(self, request, queryset):
        self._apply(
            request,
            queryset,
            broadcasts.broadcast_approve,
            lambda n: ngettext("%(n)d envío aprobado.", "%(n)d envíos aprobados.", n) % {"n": n},
        )

    @admin.action(description=_("Enviar los envíos elegidos"))
    def send(self, request, queryset):
        self._apply(
            request,
            queryset,
            broadcasts.broadcast_send,
            lambda n: ngettext("%(n)d envío encolado.", "%(n)d envíos encolados.", n) % {"n": n},
        )

    @admin.action(description=_("Cancelar los envíos elegidos (detiene lo que no salió)"))
    def cancel(self, request, queryset):
        self._apply(
            request,
            queryset,
            broadcasts.broadcast_cancel,
            lambda n: ngettext("%(n)d envío cancelado.", "%(n)d envíos cancelados.", n) % {"n": n},
        )
