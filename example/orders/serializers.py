from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers

from catalog.models import OutOfStock, Product

from .models import Order, OrderItem


class OrderProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["name", "slug", "sku"]


class OrderItemSerializer(serializers.ModelSerializer):
    product = OrderProductSerializer(read_only=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["product", "quantity", "unit_price", "line_total"]


class OrderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.username", read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "customer", "status", "shipping_country", "created_at", "items", "total"]


class NewItemSerializer(serializers.Serializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=Product.objects.active())
    quantity = serializers.IntegerField(min_value=1, max_value=100)


class NewOrderSerializer(serializers.Serializer):
    shipping_country = serializers.RegexField(r"^[A-Z]{2}$", max_length=2)
    items = NewItemSerializer(many=True, allow_empty=False)

    def create(self, validated_data: dict[str, Any]) -> Order:
        with transaction.atomic():
            order = Order.objects.create(
                customer=self.context["request"].user,
                shipping_country=validated_data["shipping_country"],
            )
            for line in validated_data["items"]:
                try:
                    order.add_item(line["product"], line["quantity"])
                except OutOfStock as error:
                    raise serializers.ValidationError({"items": [str(error)]}) from None
        return order
