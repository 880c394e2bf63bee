from __future__ import annotations

from django.db import models
from django.db.models import F


class OutOfStock(Exception):
    """Asked for more units than the shelf holds."""


class Category(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)


class Product(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    sku = models.CharField(max_length=32, unique=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.PositiveIntegerField(default=0)
    weight_grams = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    def reserve(self, quantity: int) -> None:
        """Take ``quantity`` units off the shelf, atomically in the database."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        updated = Product.objects.filter(pk=self.pk, stock__gte=quantity).update(
            stock=F("stock") - quantity
        )
        if not updated:
            raise OutOfStock(f"{self.sku}: fewer than {quantity} in stock")
        self.refresh_from_db(fields=["stock"])
