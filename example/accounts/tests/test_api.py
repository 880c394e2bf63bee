from django.urls import reverse
from rest_framework import status
from rest_framework.test import APITestCase

from shop.factories import make_category, make_customer, make_order, make_product


class MeTests(APITestCase):
    def test_me_shows_the_signed_in_user_and_their_order_count(self) -> None:
        carol = make_customer("carol")
        product = make_product(make_category())
        make_order(carol, (product, 1))
        make_order(carol, (product, 1))
        self.client.force_authenticate(carol)

        body = self.client.get(reverse("user-me")).json()

        self.assertEqual(body["username"], "carol")
        self.assertEqual(body["email"], "carol@shop.example")
        self.assertEqual(body["order_count"], 2)

    def test_me_needs_a_signed_in_user(self) -> None:
        response = self.client.get(reverse("user-me"))
        self.assertEqual(response.status_code, status.HTTP_403_FORBIDDEN)
