"""The thread page `/hilos/<place_id>/`: server-rendered, works without JavaScript (the form POSTs)."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from backend.core.exceptions import ApplicationError

from . import selectors, services
from .models import MESSAGE_MAX_LENGTH, Attachment, Thread
from .payloads import author_name

PAGE_SIZE = 50


@login_required
@require_http_methods(["GET", "POST"])
def thread_page(request, place_id: int):
    member = selectors.thread_member_get(user=request.user, place_id=place_id)
    if member is None:
        raise Http404(_("No sos parte de este hilo."))
    thread = Thread.objects.select_related("place__area").get(pk=member.thread_id)
    error = ""
    body = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            services.message_post_as(
                actor=request.user,
                thread=thread,
                body=body,
                announcement=member.moderator and request.POST.get("announcement") == "on",
            )
        except ApplicationError as exc:
            error = str(exc.message)
        else:
            return redirect(f"{request.path}#nuevo")

    before = request.GET.get("before", "")
    before_id = int(before) if before.isdigit() else None
    messages = selectors.message_list(
        thread=thread, moderator=member.moderator, before=before_id, limit=PAGE_SIZE, staff=member.sees_staff
    )
    if messages and before_id is None:
        services.thread_mark_read(user=request.user, thread=thread, last_id=messages[-1].pk)
    context = {
        "member": member,
        "thread": thread,
        "place": thread.place,
        # Not "messages": that name belongs to django.contrib.messages in the base template.
        "thread_messages": [(m, author_name(m)) for m in messages],
        "pinned": [(m, author_name(m)) for m in selectors.message_list_pinned(thread=thread)],
        "older": messages[0].pk if len(messages) == PAGE_SIZE else None,
        "paged": before_id is not None,
        "last_id": messages[-1].pk if messages and before_id is None else 0,
        "error": error,
        "body": body,
        "max_length": MESSAGE_MAX_LENGTH,
    }
    return render(request, "threads/thread.html", context, status=400 if error else 200)


@login_required
def attachment_file(request, attachment_id: int):
    """A photo of a thread message, for the thread's members only (as the message itself)."""
    attachment = Attachment.objects.select_related("message__thread").filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    message = attachment.message
    member = selectors.thread_member_get(user=request.user, place_id=message.thread.place_id)
    if member is None or (message.hidden and not member.moderator) or (message.staff_only and not member.sees_staff):
        raise Http404
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response
