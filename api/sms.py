"""Broadcast endpoints: preview, create, approve, send, status. One APIView per operation; thin."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.core.exceptions import PermissionDenied
from backend.elections.models import Election
from sms.broadcasts import (
    broadcast_approve,
    broadcast_can_view,
    broadcast_counts,
    broadcast_create,
    broadcast_preview,
    broadcast_send,
)
from sms.models import Broadcast


class SegmentSerializer(serializers.Serializer):
    areas = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    places = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    roles = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    statuses = serializers.ListField(child=serializers.CharField(), required=False, default=list)


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
    estimated_seconds = serializers.IntegerField()
    needs_approval = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())
    sample = serializers.CharField()
    sampled = serializers.IntegerField(help_text="Texts rendered for the figures below.")
    multi_segment = serializers.IntegerField(help_text="Of those, how many take more than one segment.")
    multi_segment_places = serializers.ListField(
        child=serializers.CharField(), help_text="Schools whose full name makes the text take two segments."
    )


class BroadcastOutputSerializer(serializers.ModelSerializer):
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
            "created_by",
            "approved_by",
            "approved_at",
            "queued_at",
            "created_at",
            "counts",
        ]

    def get_counts(self, obj) -> dict:
        return broadcast_counts(broadcast=obj)


class BroadcastPreviewApi(APIView):
    serializer_class = BroadcastInputSerializer

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


class BroadcastCreateApi(APIView):
    serializer_class = BroadcastInputSerializer

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


def _get_visible(request, pk) -> Broadcast:
    broadcast = get_object_or_404(Broadcast, pk=pk)
    if not broadcast_can_view(request.user, broadcast):
        raise PermissionDenied()
    return broadcast


class BroadcastDetailApi(APIView):
    """The broadcast with live delivery counts (queued, sending, sent, delivered, failed, undelivered)."""

    serializer_class = BroadcastOutputSerializer

    def get(self, request, pk: int):
        return Response(BroadcastOutputSerializer(_get_visible(request, pk)).data)


class BroadcastApproveApi(APIView):
    serializer_class = BroadcastOutputSerializer

    def post(self, request, pk: int):
        broadcast = broadcast_approve(actor=request.user, broadcast=get_object_or_404(Broadcast, pk=pk))
        return Response(BroadcastOutputSerializer(broadcast).data)


class BroadcastSendApi(APIView):
    serializer_class = BroadcastOutputSerializer

    def post(self, request, pk: int):
        broadcast = broadcast_send(actor=request.user, broadcast=_get_visible(request, pk))
        broadcast.refresh_from_db()
        return Response(BroadcastOutputSerializer(broadcast).data, status=status.HTTP_202_ACCEPTED)
