"""Admin for station threads and their messages: coordinators moderate (hide, pin) here."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from backend.accounts.permissions import Action
from backend.core.admin import ScopedAdmin, subtree_filter

from .models import Message, Thread


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

    @admin.display(description=_("autor"))
    def author(self, obj):
        return obj.author_volunteer or obj.author_user

    @admin.display(description=Message._meta.get_field("body").verbose_name)
    def short_body(self, obj):
        return obj.body[:80]
