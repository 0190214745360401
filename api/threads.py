"""Station threads over REST: history pages by id cursor, posting, moderation, read receipts, and
the coordinators' list of unread announcements. Thin: parse, authorise, call a service, render."""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.exceptions import PermissionDenied
from backend.permissions import Action, require
from backend.threads import selectors, services
from backend.threads.models import MESSAGE_MAX_LENGTH, Message, Thread
from backend.threads.payloads import message_payload, payload_for


def _member_thread(request, place_id: int):
    """The thread of `place_id` if the user is a member; 404 otherwise (never reveal other places)."""
    member = selectors.thread_member_get(user=request.user, place_id=place_id)
    if member is None:
        raise Http404
    return member, Thread.objects.select_related("place__area").get(pk=member.thread_id)


class MessageOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    thread = serializers.IntegerField()
    author = serializers.CharField()
    author_kind = serializers.CharField()
    body = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # a field named "source", not Field.source
    announcement = serializers.BooleanField()
    pinned = serializers.BooleanField()
    hidden = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    time = serializers.CharField(help_text="HH:MM in the election's time zone.")


class ThreadMessagesApi(APIView):
    """GET: a page of history (`?before=<id>` older, `?after=<id>` newer, else the newest). POST: write."""

    class FilterSerializer(serializers.Serializer):
        before = serializers.IntegerField(required=False, min_value=1)
        after = serializers.IntegerField(required=False, min_value=0)
        limit = serializers.IntegerField(required=False, min_value=1, max_value=selectors.HISTORY_PAGE_MAX, default=50)

        def validate(self, attrs):
            if "before" in attrs and "after" in attrs:
                raise serializers.ValidationError("before/after")
            return attrs

    class ListOutputSerializer(serializers.Serializer):
        results = MessageOutputSerializer(many=True)
        before = serializers.IntegerField(allow_null=True, help_text="Cursor for the previous (older) page.")
        after = serializers.IntegerField(help_text="Cursor for newer messages: the last id of this page.")

    class InputSerializer(serializers.Serializer):
        body = serializers.CharField(max_length=MESSAGE_MAX_LENGTH, trim_whitespace=True)
        announcement = serializers.BooleanField(default=False)

    serializer_class = ListOutputSerializer

    @extend_schema(parameters=[FilterSerializer], responses=ListOutputSerializer)
    def get(self, request, place_id: int):
        member, thread = _member_thread(request, place_id)
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        messages = selectors.message_list(
            thread=thread,
            moderator=member.moderator,
            before=params.get("before"),
            after=params.get("after"),
            limit=params["limit"],
            staff=member.sees_staff,
        )
        results = [payload_for(message_payload(m), moderator=member.moderator) for m in messages]
        # Older pages exist while pages come back full; after an `after` page, its first id is the cursor back.
        more_before = bool(results) and (len(messages) == params["limit"] or "after" in params)
        data = {
            "results": results,
            "before": results[0]["id"] if more_before else None,
            "after": results[-1]["id"] if results else params.get("after", 0),
        }
        return Response(self.ListOutputSerializer(data).data)

    @extend_schema(request=InputSerializer, responses={201: MessageOutputSerializer})
    def post(self, request, place_id: int):
        _member, thread = _member_thread(request, place_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_post_as(actor=request.user, thread=thread, **serializer.validated_data)
        return Response(MessageOutputSerializer(message_payload(message)).data, status=201)


def _moderated_message(request, message_id: int) -> Message:
    message = get_object_or_404(Message.objects.select_related("thread__place__area"), pk=message_id)
    if selectors.thread_member_get(user=request.user, place_id=message.thread.place_id) is None:
        raise Http404
    return message


class MessageHideApi(APIView):
    """A coordinator hides a message (or shows it again with `hidden: false`). Audited."""

    class InputSerializer(serializers.Serializer):
        hidden = serializers.BooleanField(default=True)
        reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    serializer_class = MessageOutputSerializer

    @extend_schema(request=InputSerializer, responses=MessageOutputSerializer)
    def post(self, request, message_id: int):
        message = _moderated_message(request, message_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_set_hidden(actor=request.user, message=message, **serializer.validated_data)
        return Response(MessageOutputSerializer(message_payload(message)).data)


class MessagePinApi(APIView):
    """A coordinator pins a message (or unpins it with `pinned: false`). Audited."""

    class InputSerializer(serializers.Serializer):
        pinned = serializers.BooleanField(default=True)
        reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    serializer_class = MessageOutputSerializer

    @extend_schema(request=InputSerializer, responses=MessageOutputSerializer)
    def post(self, request, message_id: int):
        message = _moderated_message(request, message_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.message_set_pinned(actor=request.user, message=message, **serializer.validated_data)
        return Response(MessageOutputSerializer(message_payload(message)).data)


class ThreadMuteApi(APIView):
    """A coordinator mutes a volunteer member of the thread (or lifts it with `muted: false`). Audited."""

    class InputSerializer(serializers.Serializer):
        volunteer = serializers.IntegerField()
        muted = serializers.BooleanField(default=True)
        reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    class OutputSerializer(serializers.Serializer):
        volunteer = serializers.IntegerField()
        muted = serializers.BooleanField()

    serializer_class = OutputSerializer

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, place_id: int):
        _member, thread = _member_thread(request, place_id)
        require(request.user, Action.MODERATE, thread)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        volunteer = get_object_or_404(selectors.thread_volunteer_members(thread=thread), pk=data["volunteer"])
        muted = services.member_set_muted(
            actor=request.user, thread=thread, volunteer=volunteer, muted=data["muted"], reason=data["reason"]
        )
        return Response(self.OutputSerializer({"volunteer": volunteer.pk, "muted": muted}).data)


class ThreadReadApi(APIView):
    """Read receipt: the member has read the thread up to `last_id`."""

    class InputSerializer(serializers.Serializer):
        last_id = serializers.IntegerField(min_value=0)

    class OutputSerializer(serializers.Serializer):
        last_read_id = serializers.IntegerField()

    serializer_class = OutputSerializer

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request, place_id: int):
        _member, thread = _member_thread(request, place_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        last = services.thread_mark_read(user=request.user, thread=thread, last_id=serializer.validated_data["last_id"])
        return Response(self.OutputSerializer({"last_read_id": last}).data)


class UnreadAnnouncementSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    thread_id = serializers.IntegerField()
    place_id = serializers.IntegerField()
    place_name = serializers.CharField()
    announced_at = serializers.DateTimeField()
    volunteer_id = serializers.IntegerField()
    volunteer_name = serializers.CharField()
    volunteer_phone = serializers.CharField()


class UnreadAnnouncementListApi(APIView):
    """For coordinators: announcements members have neither read on the web nor received by SMS."""

    class OutputSerializer(serializers.Serializer):
        results = UnreadAnnouncementSerializer(many=True)

    serializer_class = OutputSerializer

    def get(self, request):
        if not (request.user.is_lead or request.user.is_coordinator):
            raise PermissionDenied()
        rows = selectors.announcement_unread_list(user=request.user)
        return Response(self.OutputSerializer({"results": rows}).data)
