"""Money for people: an amount with its currency code, in the active language's number format."""

from decimal import Decimal

from django.conf import settings
from django.utils.formats import number_format


def money_format(amount: Decimal | float | int | str, currency: str | None = None) -> str:
    """`ARS 1.234,56` in es-AR, `ARS 1,234.56` in English: never a bare "$" that could be any peso or dollar."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    number = number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{currency or settings.SMS_CURRENCY} {number}"
