"""Broadcast endpoints: preview, create, list, detail, approve, send, cancel. One operation per view; thin.

Every rule (audience fixed at creation, approval, placeholders, lifecycle) is in backend.messaging.broadcasts;
who may see or touch a broadcast comes from backend.permissions.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.money import money_format
from backend.elections.models import Election
from backend.messaging.broadcasts import (
    broadcast_approve,
    broadcast_audience,
    broadcast_cancel,
    broadcast_cancel_summary,
    broadcast_counts,
    broadcast_create,
    broadcast_list_visible_to,
    broadcast_preview,
    broadcast_send,
)
from backend.messaging.models import Broadcast
from backend.permissions import Action, require, visible


class SegmentSerializer(serializers.Serializer):
    areas = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    places = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    roles = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    statuses = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    complete_only = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Only people with a value for every {variable} of the text (e.g. assigned ones for {escuela}).",
    )


class BroadcastInputSerializer(serializers.Serializer):
    election = serializers.PrimaryKeyRelatedField(queryset=Election.objects.all())
    body = serializers.CharField(max_length=1600)
    segment = SegmentSerializer(required=False, default=dict)
    transliterate = serializers.BooleanField(required=False, default=True)


class PreviewOutputSerializer(serializers.Serializer):
    recipients = serializers.IntegerField()
    segments_per_message = serializers.IntegerField()
    encoding = serializers.CharField()
    estimated_cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    currency = serializers.CharField()
    estimated_cost_display = serializers.CharField()
    sms_recipients = serializers.IntegerField(help_text="Recipients reached by SMS.")
    whatsapp_recipients = serializers.IntegerField(help_text="Recipients reached by WhatsApp (their channel).")
    sms_cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    whatsapp_cost = serializers.DecimalField(max_digits=12, decimal_places=4)
    estimated_seconds = serializers.IntegerField(
        help_text="Until the last segment leaves the sender pool, behind the segments already queued."
    )
    needs_approval = serializers.BooleanField()
    total_segments = serializers.IntegerField(help_text="Every message's segments added up.")
    queued_ahead_segments = serializers.IntegerField(help_text="Segments already queued, sent first.")
    pool_capacity = serializers.FloatField(help_text="Segments per second of the whole sender pool.")
    pool = serializers.CharField(help_text="The sender pool in a line: types, count, segments per second.")
    exceeds_queue_limit = serializers.BooleanField(
        help_text="Would take longer than Twilio keeps a message queued (SMS_QUEUE_MAX_HOURS): create refuses it."
    )
    waves = serializers.IntegerField(help_text="Sends of at most wave_recipients people it would fit in.")
    wave_recipients = serializers.IntegerField()
    warnings = serializers.ListField(child=serializers.CharField())
    sample = serializers.CharField()
    missing = serializers.DictField(child=serializers.IntegerField())
    complete_recipients = serializers.IntegerField()
    sampled = serializers.IntegerField(help_text="Texts rendered for the figures below.")
    multi_segment = serializers.IntegerField(help_text="Of those, how many take more than one segment.")
    multi_segment_places = serializers.ListField(
        child=serializers.CharField(), help_text="Schools whose full name makes the text take two segments."
    )


class CountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    undelivered = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    total = serializers.IntegerField()


class AudienceSerializer(serializers.Serializer):
    recipients = serializers.IntegerField()
    reachable = serializers.IntegerField()
    dropped = serializers.IntegerField()
    opted_out = serializers.IntegerField()
    no_phone = serializers.IntegerField()
    excluded = serializers.IntegerField()
    missing_values = serializers.IntegerField()
    removed = serializers.IntegerField()


class BroadcastOutputSerializer(serializers.ModelSerializer):
    estimated_cost_display = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Broadcast
        fields = [
            "id",
            "election",
            "body",
            "segment",
            "transliterate",
            "status",
            "recipient_count",
            "segments_per_message",
            "estimated_cost",
            "currency",
            "estimated_cost_display",
            "created_by",
            "approved_by",
            "approved_at",
            "sent_by",
            "sent_at",
            "queued_at",
            "queued_count",
            "cancelled_by",
            "stopped_count",
            "finished_at",
            "created_at",
            "counts",
        ]

    def get_estimated_cost_display(self, obj) -> str:
        return money_format(obj.estimated_cost, obj.currency)

    @extend_schema_field(CountsSerializer)
    def get_counts(self, obj) -> dict:
        return broadcast_counts(broadcast=obj)


class BroadcastDetailOutputSerializer(BroadcastOutputSerializer):
    audience = serializers.SerializerMethodField()

    class Meta(BroadcastOutputSerializer.Meta):
        fields = [*BroadcastOutputSerializer.Meta.fields, "audience"]

    @extend_schema_field(AudienceSerializer)
    def get_audience(self, obj) -> dict:
        return AudienceSerializer(broadcast_audience(broadcast=obj)).data


class SendInputSerializer(serializers.Serializer):
    confirm_recipients = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        help_text="After an `audience_changed` error: the `reachable` count it reported, to send anyway.",
    )


class CancelOutputSerializer(BroadcastOutputSerializer):
    message = serializers.SerializerMethodField()

    class Meta(BroadcastOutputSerializer.Meta):
        fields = [*BroadcastOutputSerializer.Meta.fields, "message"]

    def get_message(self, obj) -> str:
        return broadcast_cancel_summary(obj)


def _get_visible(request, pk) -> Broadcast:
    broadcast = get_object_or_404(Broadcast.objects.select_related("election"), pk=pk)
    require(request.user, Action.VIEW, broadcast)
    return broadcast


class BroadcastPreviewApi(APIView):
    """What a send would cost and look like, and how many recipients lack each {variable}. Stores nothing."""

    @extend_schema(request=BroadcastInputSerializer, responses={200: PreviewOutputSerializer})
    def post(self, request):
        data = BroadcastInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preview = broadcast_preview(
            user=request.user,
            election=data.validated_data["election"],
            body=data.validated_data["body"],
            segment=data.validated_data["segment"],
            transliterate=data.validated_data["transliterate"],
        )
        return Response(PreviewOutputSerializer(preview).data)


class BroadcastListCreateApi(ListAPIView):
    """GET: the broadcasts the user may see (?election=ID), newest first. POST: create one (audience fixed now)."""

    serializer_class = BroadcastOutputSerializer

    @extend_schema(parameters=[OpenApiParameter("election", int, required=False)])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        election = None
        wanted = self.request.query_params.get("election", "")
        if wanted.isdigit():
            election = get_object_or_404(visible(self.request.user, Election.objects.all()), pk=int(wanted))
        return broadcast_list_visible_to(user=self.request.user, election=election)

    @extend_schema(request=BroadcastInputSerializer, responses={201: BroadcastOutputSerializer})
    def post(self, request):
        data = BroadcastInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        broadcast = broadcast_create(
            actor=request.user,
            election=data.validated_data["election"],
            body=data.validated_data["body"],
            segment=data.validated_data["segment"],
            transliterate=data.validated_data["transliterate"],
        )
        return Response(BroadcastOutputSerializer(broadcast).data, status=status.HTTP_201_CREATED)


class BroadcastDetailApi(APIView):
    """The broadcast with live counts by status and its audience now (who can still receive it)."""

    @extend_schema(responses={200: BroadcastDetailOutputSerializer})
    def get(self, request, pk: int):
        return Response(BroadcastDetailOutputSerializer(_get_visible(request, pk)).data)


class BroadcastApproveApi(APIView):
    """A lead approves the stored audience, count and cost."""

    @extend_schema(request=None, responses={200: BroadcastOutputSerializer})
    def post(self, request, pk: int):
        broadcast = broadcast_approve(actor=request.user, broadcast=_get_visible(request, pk))
        return Response(BroadcastOutputSerializer(broadcast).data)


class BroadcastSendApi(APIView):
    """Start sending: answers 202 at once; a task queues the messages. `audience_changed` asks to confirm."""

    @extend_schema(request=SendInputSerializer, responses={202: BroadcastOutputSerializer})
    def post(self, request, pk: int):
        data = SendInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        broadcast = broadcast_send(
            actor=request.user,
            broadcast=_get_visible(request, pk),
            confirm_recipients=data.validated_data["confirm_recipients"],
        )
        broadcast.refresh_from_db()
        return Response(BroadcastOutputSerializer(broadcast).data, status=status.HTTP_202_ACCEPTED)


class BroadcastCancelApi(APIView):
    """Stop what has not left; `stopped_count` and `message` say how many messages were stopped."""

    @extend_schema(request=None, responses={200: CancelOutputSerializer})
    def post(self, request, pk: int):
        broadcast = broadcast_cancel(actor=request.user, broadcast=_get_visible(request, pk))
        return Response(CancelOutputSerializer(broadcast).data)
