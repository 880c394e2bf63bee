from decimal import Decimal

from django.test import TestCase

from catalog.models import OutOfStock, Product
from catalog.pricing import cart_total, cart_total_one_by_one
from shop.factories import make_category, make_product


class ProductTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.books = make_category("Books")

    def test_a_product_is_in_stock_until_its_last_unit_is_reserved(self) -> None:
        product = make_product(self.books, stock=2)
        product.reserve(1)
        self.assertTrue(product.in_stock)
        product.reserve(1)
        self.assertFalse(product.in_stock)
        self.assertEqual(product.stock, 0)

    def test_reserving_more_than_the_stock_changes_nothing(self) -> None:
        product = make_product(self.books, stock=3)
        with self.assertRaises(OutOfStock):
            product.reserve(4)
        product.refresh_from_db()
        self.assertEqual(product.stock, 3)

    def test_reserving_zero_units_is_refused(self) -> None:
        product = make_product(self.books)
        with self.assertRaises(ValueError):
            product.reserve(0)

    def test_active_hides_products_taken_off_sale(self) -> None:
        on_sale = make_product(self.books, name="On sale")
        make_product(self.books, name="Withdrawn", is_active=False)
        self.assertQuerySetEqual(Product.objects.active(), [on_sale])

    def test_str_names_the_product_and_its_sku(self) -> None:
        product = make_product(self.books, name="Dune")
        self.assertEqual(str(product), f"Dune ({product.sku})")


class CartTotalTests(TestCase):
    """The same total computed twice. The telemetry shows the cost: the one-by-one version repeats
    one SELECT per cart line (count 8 in db_queries), the bulk version runs it once."""

    @classmethod
    def setUpTestData(cls) -> None:
        books = make_category("Books")
        cls.products = [make_product(books, price=f"{n}.50") for n in range(1, 9)]
        cls.lines = [(product.pk, 2) for product in cls.products]

    def test_cart_total_one_by_one_adds_up_every_line(self) -> None:
        with self.assertNumQueries(len(self.lines)):
            total = cart_total_one_by_one(self.lines)
        self.assertEqual(total, Decimal("80.00"))

    def test_cart_total_adds_up_every_line(self) -> None:
        with self.assertNumQueries(1):
            total = cart_total(self.lines)
        self.assertEqual(total, Decimal("80.00"))

    def test_cart_total_counts_a_product_listed_twice_twice(self) -> None:
        first = self.products[0].pk
        self.assertEqual(cart_total([(first, 1), (first, 3)]), Decimal("6.00"))
