"""Cart totals, twice: the way that looks innocent and the way that scales."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from .models import Product

CartLine = tuple[int, int]  # (product id, quantity)


def cart_total_one_by_one(lines: Iterable[CartLine]) -> Decimal:
    """One query per line: the same SELECT repeated, a duplicate-query pattern."""
    total = Decimal("0")
    for product_id, quantity in lines:
        total += Product.objects.get(pk=product_id).price * quantity
    return total


def cart_total(lines: Iterable[CartLine]) -> Decimal:
    """One query for the whole cart."""
    lines = list(lines)
    products = Product.objects.in_bulk({product_id for product_id, _ in lines})
    return sum(
        (products[product_id].price * quantity for product_id, quantity in lines), Decimal(0)
    )
