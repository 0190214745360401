"""Token authentication with the token's row and its user read by SQL compiled once, not per request.

DRF's `TokenAuthentication` builds and compiles `Token.objects.select_related("user").get(key=...)`
on every API request; compiling it was a quarter of a trivial authenticated request's Django CPU
(cProfile, bench/fixed_cost.py). The same row is read here through `PreparedQuery`; a token that is
not found, or whose user is inactive, goes to DRF's own check, so the refusals and their messages
are DRF's.
"""

from rest_framework import authentication
from rest_framework.authtoken.models import Token

from backend.core.prepared import PreparedQuery

_TOKEN_WITH_USER = PreparedQuery(
    lambda key: Token.objects.select_related("user").filter(key=key)[:1], "key", text=("key",)
)


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        token = next(iter(_TOKEN_WITH_USER.objects(key=key)), None)
        if token is None or not token.user.is_active:
            return super().authenticate_credentials(key)  # raises DRF's AuthenticationFailed
        return (token.user, token)
