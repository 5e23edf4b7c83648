"""The store object, as GET /v2/store returns it (reference/store_information.v2.yml)."""

from __future__ import annotations

from typing import Any

from bigcommerce_sandbox.basis import Basis, Relations, Row, uuid_of


def render(basis: Basis, row: Row, rel: Relations, variant: str = "") -> dict[str, Any]:
    """GET /v2/store, shaped as the spec's example (reference/store_information.v2.yml); id is the hash."""
    version, channels = row.version, rel.live_count("channels")
    name = "Sandbox Store" if version == 0 else f"Sandbox Store (revision {version})"
    return {
        "id": basis.store_hash,
        "account_uuid": uuid_of(basis.key("store"), 1),
        "domain": "sandbox.example.com",
        "secure_url": "https://sandbox.example.com",
        "control_panel_base_url": f"https://store-{basis.store_hash}.mybigcommerce.com",
        "status": "live",
        "name": name,
        "first_name": "Jane",
        "last_name": "Doe",
        "address": "455 Main Street, Austin, TX 78751",
        "country": "United States",
        "country_code": "US",
        "infrastructure_region": "us-central1",
        "phone": "555-123-4567",
        "admin_email": "jane.doe@example.com",
        "order_email": "orders@sandbox.example.com",
        "favicon_url": "https://cdn.example.com/favicon.ico",
        "timezone": {
            "name": "America/Chicago",
            "raw_offset": -21600,
            "dst_offset": -18000,
            "dst_correction": True,
            "date_format": {"display": "M jS Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"},
        },
        "language": "en",
        "currency": "USD",
        "currency_symbol": "$",
        "decimal_separator": ".",
        "thousands_separator": ",",
        "decimal_places": 2,
        "currency_symbol_location": "left",
        "weight_units": "Ounces",
        "dimension_units": "Inches",
        "dimension_decimal_places": 2,
        "dimension_decimal_token": ".",
        "dimension_thousands_token": ",",
        "plan_name": "Standard",
        "plan_level": "Standard",
        "plan_is_trial": False,
        "industry": "Technology",
        "logo": [],
        "is_price_entered_with_tax": False,
        "store_id": 1_000_000 + basis.seed % 1_000_000,
        "default_channel_id": 1,
        "default_site_id": 1000,
        "active_comparison_modules": [],
        "features": {
            "stencil_enabled": True,
            "sitewidehttps_enabled": True,
            "facebook_catalog_id": "",
            "checkout_type": "optimized",
            "wishlists_enabled": True,
            "graphql_storefront_api_enabled": True,
            "shopper_consent_tracking_enabled": True,
            "multi_storefront_enabled": channels > 1,
            "storefront_limits": {"active": max(1, channels), "total_including_inactive": max(1, channels)},
        },
    }
