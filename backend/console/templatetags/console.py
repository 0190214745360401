"""Small template helpers of the console: who gets the navigation, percentages for bars."""

from django import template

from backend.assignments.models import AssignmentStatus
from backend.console.access import is_console_user
from backend.core.money import money_format
from backend.permissions import can_import

register = template.Library()


@register.filter
def console_user(user) -> bool:
    return is_console_user(user)


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.filter
def may_import(user) -> bool:
    """Only leads import spreadsheets: the menu shows "Importar" to them alone."""
    return can_import(user)


@register.filter
def pct(part, whole) -> int:
    """Whole percent of `part` over `whole` for a bar width; 0 when there is nothing to cover."""
    try:
        part, whole = int(part or 0), int(whole or 0)
    except (TypeError, ValueError):
        return 0
    if whole <= 0:
        return 0
    return max(0, min(100, round(100 * part / whole)))


@register.filter
def status_label(value) -> str:
    """An assignment status code as people read it ("confirmed" -> "Confirmada")."""
    try:
        return str(AssignmentStatus(value).label)
    except ValueError:
        return value or "—"


@register.filter
def money(amount, currency=None) -> str:
    """An amount with its currency code in the active language's format: "ARS 1.234,56"."""
    return money_format(amount or 0, currency or None)
