"""Admin for station threads: coordinators moderate (hide, pin) here; the audit rows are read-only.

Moderation goes through `backend.threads.services` (message_set_hidden / message_set_pinned), so
a change made here is audited and broadcast to the open pages like one made in the thread page.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from backend.core.admin import ScopedAdmin, subtree_filter
from backend.core.exceptions import ApplicationError
from backend.permissions import Action

from . import services
from .models import AnnouncementDelivery, Message, Thread, ThreadModerationEvent, ThreadMute


@admin.register(Thread)
class ThreadAdmin(ScopedAdmin):
    lead_rights = frozenset({"view"})
    list_display = ["place", "election", "created_at"]
    list_filter = ["election", subtree_filter("place__area__path")]
    search_fields = ["place__name", "place__code"]
    list_select_related = ["place", "election"]

    def get_readonly_fields(self, request, obj=None):
        return ["election", "place", "created_at"]


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    coordinator_rights = frozenset({"view", "change"})
    lead_rights = frozenset({"view", "change"})
    list_display = ["created_at", "thread", "author", "short_body", "source", "announcement", "pinned", "hidden"]
    list_filter = ["source", "announcement", "pinned", "hidden", subtree_filter("thread__place__area__path")]
    search_fields = ["body", "thread__place__name", "author_volunteer__last_name", "author_user__username"]
    list_select_related = ["thread__place", "author_user", "author_volunteer"]
    date_hierarchy = "created_at"
    fields = ["thread", "author_user", "author_volunteer", "body", "source", "created_at", "pinned", "hidden"]
    readonly_fields = ["thread", "author_user", "author_volunteer", "body", "source", "created_at"]

    def _object_allowed(self, request, obj, action):
        # Changing a message is moderating it: hiding or pinning, never rewriting what was said.
        return super()._object_allowed(request, obj, Action.MODERATE if action == Action.CHANGE else action)

    def _object_target(self, obj):
        return obj.thread

    def save_model(self, request, obj, form, change):
        try:
            if "hidden" in form.changed_data:
                services.message_set_hidden(actor=request.user, message=obj, hidden=obj.hidden)
            if "pinned" in form.changed_data:
                services.message_set_pinned(actor=request.user, message=obj, pinned=obj.pinned)
        except ApplicationError as exc:
            self.message_user(request, str(exc.message), level=messages.ERROR)

    @admin.display(description=_("autor"))
    def author(self, obj):
        return obj.author_volunteer or obj.author_user

    @admin.display(description=Message._meta.get_field("body").verbose_name)
    def short_body(self, obj):
        return obj.body[:80]


class _ReadOnlyAdmin(ScopedAdmin):
    lead_rights = frozenset({"view"})

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(ThreadModerationEvent)
class ThreadModerationEventAdmin(_ReadOnlyAdmin):
    """The moderation audit trail: read-only for everyone."""

    list_display = ["created_at", "thread", "kind", "actor", "message", "target_volunteer", "reason"]
    list_filter = ["kind"]
    search_fields = ["thread__place__name", "reason", "target_volunteer__last_name"]
    list_select_related = ["thread__place", "actor", "message", "target_volunteer"]


@admin.register(ThreadMute)
class ThreadMuteAdmin(_ReadOnlyAdmin):
    """Who is muted where; muting and unmuting happen in the thread page (member_set_muted)."""

    list_display = ["thread", "volunteer", "user", "created_by", "created_at"]
    search_fields = ["thread__place__name", "volunteer__last_name", "volunteer__dni", "user__username"]
    list_select_related = ["thread__place", "volunteer", "user", "created_by"]


@admin.register(AnnouncementDelivery)
class AnnouncementDeliveryAdmin(_ReadOnlyAdmin):
    list_display = ["message", "volunteer", "notice", "created_at"]
    search_fields = ["volunteer__last_name", "volunteer__dni"]
    list_select_related = ["message", "volunteer", "notice"]
