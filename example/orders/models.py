from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models, transaction

from catalog.models import Product


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        SHIPPED = "shipped"
        CANCELLED = "cancelled"

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="orders"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    shipping_country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Order #{self.pk} ({self.status})"

    def total(self) -> Decimal:
        return sum((item.line_total for item in self.items.all()), Decimal("0"))

    def total_weight_grams(self) -> int:
        return sum(item.product.weight_grams * item.quantity for item in self.items.all())

    @transaction.atomic
    def add_item(self, product: Product, quantity: int) -> OrderItem:
        if not product.is_active:
            raise ValueError(f"{product.sku} is not for sale")
        product.reserve(quantity)
        return self.items.create(product=product, quantity=quantity, unit_price=product.price)

    def cancel(self) -> None:
        # Known bug, pinned by an expected-failure test: the reserved units stay reserved.
        self.status = self.Status.CANCELLED
        self.save(update_fields=["status"])


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_items")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity
