from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import generics, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .models import Order, OrderItem
from .serializers import NewOrderSerializer, OrderSerializer
from .shipping import ShippingClient, ShippingError


def orders_with_items(customer: Any) -> QuerySet[Order]:
    """A customer's orders with everything the serializer touches loaded in three queries."""
    items = OrderItem.objects.select_related("product")
    return (
        Order.objects.filter(customer=customer)
        .select_related("customer")
        .prefetch_related(Prefetch("items", queryset=items))
    )


class OrderList(generics.ListCreateAPIView):
    """``GET``: the customer's orders, items and products prefetched. ``POST``: place an order."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return orders_with_items(self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        new_order = NewOrderSerializer(data=request.data, context={"request": request})
        new_order.is_valid(raise_exception=True)
        order = new_order.save()
        body = OrderSerializer(orders_with_items(request.user).get(pk=order.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)


class NaiveOrderList(generics.ListAPIView):
    """The same list as :class:`OrderList`, written the way N+1 bugs are born.

    Every order then costs a query for its customer and its items (twice: the items field and
    ``total()``), and every item one more for its product. Kept on purpose to show what the
    telemetry reports; do not copy.
    """

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return Order.objects.filter(customer=self.request.user)


class OrderDetail(generics.RetrieveAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self) -> QuerySet[Order]:
        return orders_with_items(self.request.user)


class ShippingQuote(APIView):
    """What shipping the order would cost, asked from the external shipping service."""

    permission_classes = [permissions.IsAuthenticated]

    def get(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(orders_with_items(request.user), pk=pk)
        try:
            quote = ShippingClient.from_settings().quote(
                order.total_weight_grams(), order.shipping_country
            )
        except ShippingError:
            return Response(
                {"detail": "The shipping service is unavailable, try again later."},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        return Response(
            {
                "order": order.pk,
                "weight_grams": order.total_weight_grams(),
                "carrier": quote.carrier,
                "price": str(quote.price),
                "currency": quote.currency,
                "days": quote.days,
            }
        )
