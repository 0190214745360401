"""The one JSON shape of a message, shared by the socket, the REST API and the page."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Message


def author_name(message: Message) -> str:
    volunteer, user = message.author_volunteer, message.author_user
    if volunteer is not None:
        return volunteer.full_name
    if user is not None:
        return user.get_full_name() or user.username
    return _("Sistema")


def message_payload(message: Message) -> dict:
    return {
        "id": message.pk,
        "thread": message.thread_id,
        "author": author_name(message),
        "author_kind": "volunteer" if message.author_volunteer_id else ("staff" if message.author_user_id else ""),
        "body": message.body,
        "source": str(message.source),
        "announcement": message.announcement,
        "pinned": message.pinned,
        "hidden": message.hidden,
        "staff_only": message.staff_only,
        "attachments": [
            {"id": a.pk, "url": reverse("threads:attachment", args=[a.pk]), "content_type": a.content_type}
            for a in message.attachments.all()
        ]
        if message.has_attachments
        else [],
        "created_at": message.created_at.isoformat(),
        # Local time of the election (the phone's clock or zone may be wrong).
        "time": timezone.localtime(message.created_at).strftime("%H:%M"),
    }


def message_payload_from_row(row: dict) -> dict:
    """`message_payload` from a row of `selectors.message_rows_after` (the same keys and values)."""
    if row["author_volunteer_id"] is not None:
        author = f"{row['author_volunteer__first_name']} {row['author_volunteer__last_name']}".strip()
    elif row["author_user_id"] is not None:
        full = f"{row['author_user__first_name']} {row['author_user__last_name']}".strip()
        author = full or row["author_user__username"]
    else:
        author = _("Sistema")
    return {
        "id": row["id"],
        "thread": row["thread_id"],
        "author": author,
        "author_kind": "volunteer" if row["author_volunteer_id"] else ("staff" if row["author_user_id"] else ""),
        "body": row["body"],
        "source": str(row["source"]),
        "announcement": row["announcement"],
        "pinned": row["pinned"],
        "hidden": row["hidden"],
        "staff_only": row["staff_only"],
        "attachments": [
            {"id": a.pk, "url": reverse("threads:attachment", args=[a.pk]), "content_type": a.content_type}
            for a in row.get("attachments", ())
        ],
        "created_at": row["created_at"].isoformat(),
        "time": timezone.localtime(row["created_at"]).strftime("%H:%M"),
    }


def payload_for(payload: dict, *, moderator: bool) -> dict:
    """What one reader may see: a hidden message keeps its place but loses its text for non-moderators."""
    if payload.get("hidden") and not moderator:
        return {**payload, "body": "", "author": ""}
    return payload
