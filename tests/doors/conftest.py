"""Fixtures of the one-door tests: the SMS side's signed webhook posts, eager Celery and a clean cache."""

from tests.sms.conftest import _eager_celery, _fresh_cache, geo, signed_post  # noqa: F401
