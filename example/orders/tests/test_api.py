from django.urls import reverse
from rest_framework import status
from rest_framework.test import APITestCase

from orders.models import Order
from shop.factories import make_category, make_customer, make_order, make_product

ORDERS = 5
ITEMS_PER_ORDER = 2


class OrderListTests(APITestCase):
    """The N+1 endpoint and its fixed twin return the same body at very different costs."""

    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_customer("alice")
        cls.bob = make_customer("bob")
        books = make_category("Books")
        products = [make_product(books, stock=100) for _ in range(ITEMS_PER_ORDER)]
        for _ in range(ORDERS):
            make_order(cls.alice, *[(product, 1) for product in products])
        make_order(cls.bob, (products[0], 1))

    def setUp(self) -> None:
        self.client.force_authenticate(self.alice)

    # The pair to compare in the telemetry: the same body at very different costs.

    def test_naive_order_list_returns_every_order_with_its_items(self) -> None:
        # COUNT + orders, then per order: its customer, its items (twice), a product per item.
        with self.assertNumQueries(2 + ORDERS * (1 + 2 + ITEMS_PER_ORDER)):
            body = self.client.get(reverse("order-list-naive")).json()
        self.assertEqual(body["count"], ORDERS)
        items = [len(order["items"]) for order in body["results"]]
        self.assertEqual(items, [ITEMS_PER_ORDER] * ORDERS)

    def test_prefetched_order_list_returns_every_order_with_its_items(self) -> None:
        with self.assertNumQueries(3):  # COUNT, orders JOIN customer, items JOIN product
            body = self.client.get(reverse("order-list")).json()
        self.assertEqual(body["count"], ORDERS)
        items = [len(order["items"]) for order in body["results"]]
        self.assertEqual(items, [ITEMS_PER_ORDER] * ORDERS)

    def test_both_order_lists_return_the_same_body(self) -> None:
        naive = self.client.get(reverse("order-list-naive")).json()
        fixed = self.client.get(reverse("order-list")).json()
        self.assertEqual(naive, fixed)

    def test_customers_see_only_their_own_orders(self) -> None:
        self.client.force_authenticate(self.bob)
        body = self.client.get(reverse("order-list")).json()
        self.assertEqual(body["count"], 1)
        self.assertEqual({order["customer"] for order in body["results"]}, {"bob"})

    def test_orders_need_a_signed_in_customer(self) -> None:
        self.client.force_authenticate(None)
        response = self.client.get(reverse("order-list"))
        self.assertEqual(response.status_code, status.HTTP_403_FORBIDDEN)

    def test_order_detail_nests_items_with_their_products(self) -> None:
        order = self.alice.orders.first()
        body = self.client.get(reverse("order-detail", args=[order.pk])).json()
        self.assertEqual(len(body["items"]), ITEMS_PER_ORDER)
        self.assertEqual(set(body["items"][0]["product"]), {"name", "slug", "sku"})
        self.assertEqual(body["total"], "20.00")

    def test_another_customers_order_is_not_found(self) -> None:
        order = self.bob.orders.get()
        response = self.client.get(reverse("order-detail", args=[order.pk]))
        self.assertEqual(response.status_code, status.HTTP_404_NOT_FOUND)


class PlaceOrderTests(APITestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_customer("alice")
        books = make_category("Books")
        cls.dune = make_product(books, price="9.99", stock=3)
        cls.emma = make_product(books, price="4.50", stock=1)

    def setUp(self) -> None:
        self.client.force_authenticate(self.alice)

    def place(self, *lines: tuple[str, int], country: str = "FR") -> dict:
        items = [{"product": slug, "quantity": quantity} for slug, quantity in lines]
        response = self.client.post(
            reverse("order-list"), {"shipping_country": country, "items": items}
        )
        return {"status": response.status_code, "body": response.json()}

    def test_placing_an_order_reserves_stock_and_returns_it_nested(self) -> None:
        result = self.place((self.dune.slug, 2), (self.emma.slug, 1))
        self.assertEqual(result["status"], status.HTTP_201_CREATED, result)
        self.assertEqual(result["body"]["total"], "24.48")
        self.assertEqual([item["quantity"] for item in result["body"]["items"]], [2, 1])
        self.dune.refresh_from_db()
        self.assertEqual(self.dune.stock, 1)

    def test_an_order_beyond_the_stock_is_refused_entirely(self) -> None:
        result = self.place((self.dune.slug, 1), (self.emma.slug, 2))
        self.assertEqual(result["status"], status.HTTP_400_BAD_REQUEST)
        self.assertFalse(Order.objects.exists())
        self.dune.refresh_from_db()
        self.assertEqual(self.dune.stock, 3)

    def test_an_order_needs_at_least_one_item(self) -> None:
        result = self.place()
        self.assertEqual(result["status"], status.HTTP_400_BAD_REQUEST)
        self.assertIn("items", result["body"])

    def test_an_unknown_product_is_a_bad_request(self) -> None:
        result = self.place(("no-such-thing", 1))
        self.assertEqual(result["status"], status.HTTP_400_BAD_REQUEST)
