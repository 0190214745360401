"""OpenAPI schema generation tuned to this code base's one-serializer-per-API-class style."""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    """Names components after the API class that nests them.

    Every API class nests its own `InputSerializer` / `OutputSerializer`; drf-spectacular would
    name them all "Input" / "Output" and collide. `MeApi.OutputSerializer` becomes "MeOutput".
    """

    def get_serializer_name(self, serializer, direction):
        cls = serializer.__class__
        outer, _, inner = cls.__qualname__.rpartition(".")
        if not outer:
            return cls.__name__
        return outer.replace(".", "").removesuffix("Api").removesuffix("API").removesuffix("View") + inner
