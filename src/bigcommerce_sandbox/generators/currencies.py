"""Currencies, as GET /v2/currencies returns them (reference/currencies.v2.yml, currency_Full). Currency 1
is the store's default, US dollars, which orders name (``currency_id`` 1); ``last_updated`` is an RFC 2822
date as in the spec's example (``Tue, 12 Jun 2018 14:41:56 +0000``), like every v2 date."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, record_hash, rfc2822

# (code, name, token, country iso2, rate to USD, decimal places, token location)
CURRENCIES = (
    ("USD", "US Dollar", "$", "US", "1.0000000000", 2, "left"),
    ("EUR", "Euro", "€", "EU", "0.8490000000", 2, "left"),
    ("GBP", "British Pound", "£", "GB", "0.7312000000", 2, "left"),
    ("CAD", "Canadian Dollar", "$", "CA", "1.3650000000", 2, "left"),
    ("AUD", "Australian Dollar", "$", "AU", "1.5120000000", 2, "left"),
    ("JPY", "Japanese Yen", "¥", "JP", "151.2300000000", 0, "left"),
    ("PLN", "Polski złoty", "zł", "PL", "3.9800000000", 2, "right"),
    ("BRL", "Brazilian Real", "R$", "BR", "5.0100000000", 2, "left"),
    ("CHF", "Swiss Franc", "CHF", "CH", "0.9010000000", 2, "left"),
    ("SEK", "Swedish Krona", "kr", "SE", "10.4500000000", 2, "right"),
    ("MXN", "Mexican Peso", "$", "MX", "17.0800000000", 2, "left"),
    ("INR", "Indian Rupee", "₹", "IN", "83.1200000000", 2, "left"),
)


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    cid, version, _created, modified = row
    index = cid - basis.base_id("currencies", 0)
    code, name, token, iso2, rate, places, location = CURRENCIES[index % len(CURRENCIES)]
    h = record_hash(basis.key("currencies"), cid)
    v = record_hash(basis.key("currencies"), cid, version) if version else h
    default = index == 0
    comma = code in ("EUR", "PLN", "BRL", "SEK")
    if index >= len(CURRENCIES):
        # Beyond the table (large stores, created currencies): a made-up code, still three letters.
        code = "X" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index // 26 % 26] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index % 26]
        name = f"{name} ({code})"
    if version and not default:
        # An update moves the exchange rate (a dynamic rate would, daily).
        whole, _, fraction = rate.partition(".")
        rate = f"{whole}.{(int(fraction[:4]) + (v % 200)) % 10000:04d}000000"
    return {
        "id": cid,
        "is_default": default,
        "last_updated": rfc2822(modified),
        "country_iso2": iso2,
        "default_for_country_codes": [iso2] if index < len(CURRENCIES) else [],
        "currency_code": code,
        "currency_exchange_rate": rate,
        "name": name,
        "token": token,
        "auto_update": not default and (h >> 4) % 2 == 0,
        "decimal_token": "," if comma else ".",
        "decimal_places": places,
        "token_location": location,
        "thousands_token": "." if comma else ",",
        "enabled": default or (v >> 8) % 5 != 0,
        "is_transactional": default or (h >> 12) % 3 == 0,
        "use_default_name": (h >> 14) % 2 == 0,
    }
