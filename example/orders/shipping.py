"""Client of the external shipping-quote service (``settings.SHIPPING_API_URL``).

``GET {base}/quotes?weight=<grams>&country=<ISO code>&api_key=<key>`` answers
``{"carrier": "...", "price": "12.50", "currency": "EUR", "days": 3}``. The service wants its key
in the query string; trim-telemetry-otel records that URL with ``api_key=REDACTED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import requests
from django.conf import settings


class ShippingError(Exception):
    """The service could not be reached or gave an answer we cannot use."""


@dataclass(frozen=True)
class Quote:
    carrier: str
    price: Decimal
    currency: str
    days: int


@dataclass(frozen=True)
class ShippingClient:
    base_url: str
    api_key: str
    timeout: float = 2.0

    @classmethod
    def from_settings(cls) -> ShippingClient:
        return cls(
            settings.SHIPPING_API_URL, settings.SHIPPING_API_KEY, settings.SHIPPING_API_TIMEOUT
        )

    def quote(self, weight_grams: int, country: str) -> Quote:
        try:
            response = requests.get(
                f"{self.base_url.rstrip('/')}/quotes",
                params={"weight": weight_grams, "country": country, "api_key": self.api_key},
                timeout=self.timeout,
            )
            response.raise_for_status()
            data = response.json()
            return Quote(
                carrier=str(data["carrier"]),
                price=Decimal(str(data["price"])),
                currency=str(data["currency"]),
                days=int(data["days"]),
            )
        except (requests.RequestException, ValueError, KeyError, TypeError, InvalidOperation) as e:
            raise ShippingError(f"shipping quote failed: {e}") from e
