from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db.models import Count, Q, QuerySet
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from .models import Category, Product
from .serializers import CategorySerializer, ProductSerializer

ORDERINGS = {"name", "-name", "price", "-price", "created_at", "-created_at"}


class CategoryList(generics.ListAPIView):
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Category]:
        active = Q(products__is_active=True)
        return Category.objects.annotate(product_count=Count("products", filter=active))


class ProductList(generics.ListAPIView):
    """Active products, filtered by ``?category=<slug>&min_price=&max_price=&in_stock=true``,
    ``?search=<part of the name>`` and sorted by ``?ordering=`` (name, price, created_at, or -…)."""

    serializer_class = ProductSerializer

    def get_queryset(self) -> QuerySet[Product]:
        params = self.request.query_params
        products = Product.objects.active().select_related("category")
        if category := params.get("category"):
            products = products.filter(category__slug=category)
        if (low := params.get("min_price")) is not None:
            products = products.filter(price__gte=_decimal("min_price", low))
        if (high := params.get("max_price")) is not None:
            products = products.filter(price__lte=_decimal("max_price", high))
        if params.get("in_stock", "").lower() in ("1", "true", "yes"):
            products = products.filter(stock__gt=0)
        if search := params.get("search"):
            products = products.filter(name__icontains=search)
        ordering = params.get("ordering", "name")
        if ordering not in ORDERINGS:
            raise ValidationError({"ordering": f"choose one of {sorted(ORDERINGS)}"})
        return products.order_by(ordering, "id")


class ProductDetail(generics.RetrieveAPIView):
    serializer_class = ProductSerializer
    lookup_field = "slug"
    queryset = Product.objects.active().select_related("category")


def _decimal(name: str, value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError({name: "a number, e.g. 19.99"}) from None
    if not number.is_finite():
        raise ValidationError({name: "a number, e.g. 19.99"})
    return number
