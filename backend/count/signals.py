"""Keeps the per-process ballot cache of `selectors` true: a saved or deleted category, list or
election (the admin, the imports, the tests) clears its election's cached ballot in this process."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from backend.elections.models import Election

from .models import BallotList, Category
from .selectors import ballot_cache_clear


def _category_changed(sender, instance, **kwargs) -> None:
    ballot_cache_clear(instance.election_id)


def _list_changed(sender, instance, **kwargs) -> None:
    # The category row may already be gone (a cascade): clear everything rather than read it.
    ballot_cache_clear(None)


def _election_changed(sender, instance, **kwargs) -> None:
    ballot_cache_clear(instance.pk)


def _districts_changed(sender, instance, **kwargs) -> None:
    ballot_cache_clear(instance.election_id if isinstance(instance, Category) else None)


def connect() -> None:
    for signal in (post_save, post_delete):
        signal.connect(_category_changed, sender=Category, dispatch_uid="count_ballot_category")
        signal.connect(_list_changed, sender=BallotList, dispatch_uid="count_ballot_list")
        signal.connect(_election_changed, sender=Election, dispatch_uid="count_ballot_election")
    m2m_changed.connect(_districts_changed, sender=Category.districts.through, dispatch_uid="count_ballot_districts")
