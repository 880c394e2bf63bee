"""The shipping-quote endpoint against a real local service, and against mocks of it."""

from __future__ import annotations

import socket

import requests
import requests_mock
import responses
from django.test import override_settings
from django.urls import reverse
from rest_framework import status
from rest_framework.test import APITestCase

from orders.shipping import ShippingClient, ShippingError
from shop.factories import make_category, make_customer, make_order, make_product

from .fake_shipping import FakeShippingService

MOCKED_URL = "https://api.shipping.example/v1"


class ShippingQuoteTestCase(APITestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.alice = make_customer("alice")
        books = make_category("Books")
        dune = make_product(books, weight_grams=400, stock=10)
        atlas = make_product(books, weight_grams=2200, stock=10)
        cls.order = make_order(cls.alice, (dune, 2), (atlas, 1), country="DE")  # 3000 g
        cls.doomed = make_order(cls.alice, (dune, 1), country="XX")

    def setUp(self) -> None:
        self.client.force_authenticate(self.alice)

    def quote(self, order_pk: int) -> requests.Response:
        return self.client.get(reverse("shipping-quote", args=[order_pk]))


class RealShippingServiceTests(ShippingQuoteTestCase):
    """These tests really go over the network, to a server on 127.0.0.1 started for the class."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.service = FakeShippingService().start()
        cls.addClassCleanup(cls.service.stop)

    def setUp(self) -> None:
        super().setUp()
        self.service.received.clear()
        settings = override_settings(SHIPPING_API_URL=self.service.base_url)
        settings.enable()
        self.addCleanup(settings.disable)

    def test_quote_from_the_real_local_service(self) -> None:
        response = self.quote(self.order.pk)

        self.assertEqual(response.status_code, status.HTTP_200_OK, response.content)
        self.assertEqual(response.json()["carrier"], "Loopback Post")
        self.assertEqual(response.json()["price"], "9.40")
        self.assertEqual(
            self.service.received,
            [{"weight": "3000", "country": "DE", "api_key": "demo-key"}],
        )

    def test_a_failing_service_becomes_a_bad_gateway(self) -> None:
        response = self.quote(self.doomed.pk)

        self.assertEqual(response.status_code, status.HTTP_502_BAD_GATEWAY)
        self.assertEqual(len(self.service.received), 1)

    def test_a_service_that_is_down_becomes_a_bad_gateway(self) -> None:
        with socket.socket() as probe:  # a loopback port that nothing listens on
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        with override_settings(SHIPPING_API_URL=f"http://127.0.0.1:{closed_port}/v1"):
            response = self.quote(self.order.pk)

        self.assertEqual(response.status_code, status.HTTP_502_BAD_GATEWAY)


@override_settings(SHIPPING_API_URL=MOCKED_URL)
class MockedShippingServiceTests(ShippingQuoteTestCase):
    """The same endpoint with the service mocked: nothing leaves the process."""

    @responses.activate
    def test_quote_with_the_service_mocked_by_responses(self) -> None:
        responses.get(
            f"{MOCKED_URL}/quotes",
            json={"carrier": "Mock Parcel", "price": "7.25", "currency": "EUR", "days": 1},
        )

        response = self.quote(self.order.pk)

        self.assertEqual(response.status_code, status.HTTP_200_OK)
        self.assertEqual(response.json()["carrier"], "Mock Parcel")
        self.assertEqual(len(responses.calls), 1)

    def test_quote_with_the_service_mocked_by_requests_mock(self) -> None:
        with requests_mock.Mocker() as mock:
            mock.get(
                f"{MOCKED_URL}/quotes",
                json={"carrier": "Stub Express", "price": "12", "currency": "EUR", "days": 3},
            )
            response = self.quote(self.order.pk)

        self.assertEqual(response.json()["price"], "12")
        self.assertEqual(
            mock.last_request.qs, {"weight": ["3000"], "country": ["de"], "api_key": ["demo-key"]}
        )

    @responses.activate
    def test_an_unusable_answer_becomes_a_bad_gateway(self) -> None:
        responses.get(f"{MOCKED_URL}/quotes", json={"carrier": "Mock Parcel"})

        response = self.quote(self.order.pk)

        self.assertEqual(response.status_code, status.HTTP_502_BAD_GATEWAY)

    @responses.activate
    def test_the_client_reports_a_timeout_as_a_shipping_error(self) -> None:
        responses.get(f"{MOCKED_URL}/quotes", body=requests.ConnectTimeout("too slow"))
        client = ShippingClient(MOCKED_URL, "demo-key", timeout=0.5)

        with self.assertRaisesMessage(ShippingError, "too slow"):
            client.quote(1000, "DE")
