"""Small helpers the tests use to build shop data (plain functions, no factory library)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.contrib.auth.models import User

from catalog.models import Category, Product
from orders.models import Order

_numbers = itertools.count(1)


def make_category(name: str = "Books") -> Category:
    n = next(_numbers)
    return Category.objects.create(name=name, slug=f"{name.lower().replace(' ', '-')}-{n}")


def make_product(
    category: Category,
    name: str | None = None,
    price: str = "10.00",
    stock: int = 5,
    weight_grams: int = 500,
    is_active: bool = True,
) -> Product:
    n = next(_numbers)
    name = name or f"Product {n}"
    return Product.objects.create(
        category=category,
        name=name,
        slug=f"{name.lower().replace(' ', '-')}-{n}",
        sku=f"SKU-{n:05d}",
        price=Decimal(price),
        stock=stock,
        weight_grams=weight_grams,
        is_active=is_active,
    )


def make_customer(username: str) -> User:
    # No password: hashing one costs ~0.3 s per user, and the API tests authenticate directly.
    return User.objects.create_user(username, email=f"{username}@shop.example", password=None)


def make_order(customer: User, *lines: tuple[Product, int], country: str = "DE") -> Order:
    order = Order.objects.create(customer=customer, shipping_country=country)
    for product, quantity in lines:
        order.add_item(product, quantity)
    return order
