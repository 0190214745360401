"""Small API endpoints of the foundation: who am I, which elections exist."""

from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.elections.models import Election
from backend.permissions import role_of, scope_areas


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        username = serializers.CharField()
        role = serializers.CharField()
        scopes = serializers.ListField(child=serializers.CharField())

    serializer_class = OutputSerializer  # documents the answer in the schema

    def get(self, request):
        user = request.user
        # Plain values of a fixed shape, already what the serializer would write: building its fields
        # (a deep copy of each, per request) was a fifth of this view's CPU. tests/foundation pins the two.
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "role": role_of(user),
                "scopes": [path for _, path in scope_areas(user)],
            }
        )


class ElectionListApi(ListAPIView):
    class OutputSerializer(serializers.ModelSerializer):
        class Meta:
            model = Election
            fields = ["id", "slug", "name", "date", "table_watchers_per_table", "place_watchers_per_place"]

    serializer_class = OutputSerializer
    queryset = Election.objects.order_by("-date", "id")
