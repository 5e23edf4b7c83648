"""Record builders: every API object of the sandbox store, derived from (seed, id, version) alone.

Nothing here holds records. Each builder turns a 64-bit hash of (seed, resource, id, version) into the
object BigCommerce would return, so a store of a million orders costs only its indexes (see store.py).
Fields are drawn from small precomputed pools by slicing the hash, which is far cheaper than seeding a
``random.Random`` per record and keeps serving fast.

Formats follow the official specs: v2 dates are RFC 2822 with ``+0000`` and money is a string with four
decimals (reference/orders.v2.oas2.yml), customers and channels use ``...Z`` and the catalog ``+00:00``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_VERSION_MUL = 0xD1B54A32D192ED03
# Composite index keys put a timestamp above a 32-bit id; timestamps are stored relative to 2000-01-01.
TS_BASE = 946_684_800
BIG_ORDER_ITEMS = 60

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def mix(x: int) -> int:
    """splitmix64's finaliser: a fast, well-spread 64-bit hash of an integer."""
    x &= MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def stream_key(seed: int, name: str) -> int:
    """The per-resource salt, so customer 7 and order 7 draw unrelated values."""
    return mix((seed * _GOLDEN) ^ (zlib.crc32(name.encode()) << 17) ^ 0x5A17)


def record_hash(key: int, rid: int, version: int = 0) -> int:
    return mix(key + rid * _GOLDEN + version * _VERSION_MUL)


def rfc2822(ts: int) -> str:
    t = time.gmtime(ts)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def iso_z(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def iso_offset(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ts))


def iso_date(ts: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def money4(cents: int) -> str:
    """v2 money: a string with four decimals, e.g. 1050 -> "10.5000" (exact for any realistic amount)."""
    return f"{cents / 100:.2f}00"


def dims4(hundredths: int) -> str:
    return f"{hundredths // 100}.{hundredths % 100:02d}00"


# ---------------------------------------------------------------------------------------------- pools

# (display, ascii) so names can be unicode while e-mail addresses stay plain.
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Jane", "jane"),
    ("John", "john"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łucja", "lucja"),
    ("Søren", "soren"),
    ("Björk", "bjork"),
    ("François", "francois"),
    ("Chloé", "chloe"),
    ("Ólafur", "olafur"),
    ("Mia", "mia"),
    ("Noah", "noah"),
    ("Aisha", "aisha"),
    ("Hiroshi", "hiroshi"),
    ("Priya", "priya"),
    ("Mateo", "mateo"),
    ("Emma", "emma"),
    ("Liam", "liam"),
    ("Fatima", "fatima"),
    ("Đorđe", "dorde"),
    ("Nguyễn", "nguyen"),
    ("Anaïs", "anais"),
    ("Kwame", "kwame"),
    ("Sofía", "sofia"),
    ("Olivia", "olivia"),
    ("Lucas", "lucas"),
    ("Yuki", "yuki"),
    ("Ivan", "ivan"),
    ("Grace", "grace"),
    ("Ahmed", "ahmed"),
    ("Chen", "chen"),
    ("María", "maria"),
    ("Oskar", "oskar"),
    ("Ingrid", "ingrid"),
    ("Raj", "raj"),
    ("Amélie", "amelie"),
    ("Tomás", "tomas"),
    ("Leah", "leah"),
    ("Omar", "omar"),
    ("Hana", "hana"),
    ("美咲", "misaki"),
    ("Алексей", "aleksei"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Doe", "doe"),
    ("Smith", "smith"),
    ("Müller", "muller"),
    ("García", "garcia"),
    ("Nowak", "nowak"),
    ("Johansson", "johansson"),
    ("O'Brien", "obrien"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
    ("Tanaka", "tanaka"),
    ("Kowalski", "kowalski"),
    ("Núñez", "nunez"),
    ("Okafor", "okafor"),
    ("Patel", "patel"),
    ("Lee", "lee"),
    ("Jørgensen", "jorgensen"),
    ("Schäfer", "schafer"),
    ("Brown", "brown"),
    ("Wilson", "wilson"),
    ("Martin", "martin"),
    ("Silva", "silva"),
    ("Kim", "kim"),
    ("Ivanova", "ivanova"),
    ("Haddad", "haddad"),
    ("Van der Berg", "vanderberg"),
    ("Łukasik", "lukasik"),
    ("Thompson", "thompson"),
    ("Gonzalez", "gonzalez"),
    ("Nakamura", "nakamura"),
    ("Walker", "walker"),
    ("Fernández", "fernandez"),
    ("Andersson", "andersson"),
    ("Clarke", "clarke"),
    ("Moreau", "moreau"),
    ("Yılmaz", "yilmaz"),
    ("Novák", "novak"),
    ("王", "wang"),
    ("Петров", "petrov"),
)
COMPANIES = (
    "",
    "",
    "",
    "",
    "",
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Ltd",
    "Hooli",
    "Vandelay Industries",
    "Stark Industries",
    "Wayne Enterprises",
    "Café Müller GmbH",
    "Société Générale de Test",
    "株式会社テスト",
)
# (city, state, zip, country, iso2)
PLACES = (
    ("Austin", "Texas", "78751", "United States", "US"),
    ("New York", "New York", "10001", "United States", "US"),
    ("San Francisco", "California", "94103", "United States", "US"),
    ("Chicago", "Illinois", "60601", "United States", "US"),
    ("Seattle", "Washington", "98101", "United States", "US"),
    ("Toronto", "Ontario", "M5V 2T6", "Canada", "CA"),
    ("London", "England", "EC1A 1BB", "United Kingdom", "GB"),
    ("Sydney", "New South Wales", "2000", "Australia", "AU"),
    ("München", "Bayern", "80331", "Germany", "DE"),
    ("Paris", "Île-de-France", "75001", "France", "FR"),
    ("São Paulo", "São Paulo", "01310-000", "Brazil", "BR"),
    ("Kraków", "Małopolskie", "30-001", "Poland", "PL"),
)
STREETS = (
    "Main Street",
    "Oak Avenue",
    "Elm Street",
    "Congress Ave",
    "Market Street",
    "Broadway",
    "Königsallee",
    "Rue de Rivoli",
    "High Street",
    "Queen Street West",
    "Rua Augusta",
    "Long Road",
)
ADJECTIVES = (
    "Classic",
    "Organic",
    "Vintage",
    "Ergonomic",
    "Handmade",
    "Rustic",
    "Sleek",
    "Premium",
    "Eco",
    "Über",
    "Café",
    "Nordic",
    "Deluxe",
    "Compact",
    "Smart",
    "Artisan",
    "Heavy-Duty",
    "Lightweight",
)
MATERIALS = (
    "Cotton",
    "Linen",
    "Steel",
    "Oak",
    "Ceramic",
    "Leather",
    "Wool",
    "Bamboo",
    "Glass",
    "Copper",
    "Porcelain",
    "Cashmere",
    "Walnut",
    "Titanium",
)
NOUNS = (
    "Towel",
    "Mug",
    "Chair",
    "Lamp",
    "Backpack",
    "Journal",
    "Headphones",
    "Teapot",
    "Blanket",
    "Knife",
    "Vase",
    "Wallet",
    "Sneakers",
    "Scarf",
    "Desk",
    "Bowl",
    "Candle",
    "Watch",
    "Jacket",
    "Bottle",
)
EMOJI_SUFFIXES = ("", "", "", "", "", "", "", "", " 🎧", " ™", " ☕", " — Limited Edition")
BRAND_NAMES = (
    "Common Good",
    "OFS",
    "BigCommerce",
    "Acme Brand",
    "Fog Linen Work",
    "Barr-Co.",
    "Sagaform",
    "Able Brewing",
    "Chemex",
    "Kinfolk",
    "Hario",
    "Miir",
    "Stüssy",
    "Øystein & Co",
    "Maison Kitsuné",
    "Nordisk",
    "Terra",
    "Lumen",
    "Polar",
    "Orbit",
)
CATEGORY_WORDS = (
    "Garden",
    "Kitchen",
    "Bath",
    "Publications",
    "Utility",
    "Shop All",
    "Küche",
    "Outdoor",
    "Home Décor",
    "Lighting",
    "Furniture",
    "Apparel",
    "Accessories",
    "Electronics",
    "Toys",
    "Sale",
    "New Arrivals",
    "Gifts",
    "Office",
    "Travel",
    "Beauty",
    "Sports",
    "Pets",
    "Books",
    "Music",
    "Tools",
)
LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Morbi vel metus ac est egestas porta sed quis erat.",
    "Integer id nulla massa; proin vitae enim nisi.",
    "Praesent non dignissim nulla, nulla mattis id massa ac pharetra.",
    "Mauris et nisi in dolor aliquam sodales — “quoted” text and ünïcödé included.",
    "Curabitur libero nunc, interdum ac libero non, tristique porttitor metus.",
    "Ut non dignissim lorem, in vestibulum leo & vivamus sodales quis turpis eget.",
    "Crafted with care <b>by hand</b> and shipped in 100% recycled packaging.",
)
NOTES = ("", "", "", "", "Prefers email contact.", "VIP — handle with care.", "Wholesale account ✓")
GATEWAYS = (
    ("braintree", "credit_card", "braintree.card"),
    ("stripe", "credit_card", "stripe.card"),
    ("authorizenet", "credit_card", "authorizenet.card"),
    ("paypalexpress", "electronic_wallet", "paypalexpress"),
    ("testgateway", "credit_card", "testgateway.card"),
    ("square", "credit_card", "squarev2.card"),
    ("adyen", "credit_card", "adyenv2.scheme"),
)
CARD_TYPES = ("visa", "master", "american_express", "discover", "jcb", "diners_club")
OPTION_TYPES = (
    ("Size", "Multiple choice", "Rectangle", ("S", "M", "L", "XL")),
    ("Color", "Swatch", "", ("Red", "Blue", "Beige Stripe", "Noir")),
    ("Add Letters", "Text field", "", ("ABC", "Zoë", "🎉")),
    ("Is this a gift?", "Checkbox", "", ("Yes", "No")),
)
CONTACT_FIELDS = ("fullname,companyname,phone,orderno,rma", "fullname,phone", "", "orderno,rma")
CHANNEL_TEMPLATES = (
    ("Sandbox Storefront", "storefront", "bigcommerce", "active"),
    ("Amazon", "marketplace", "amazon", "connected"),
    ("Facebook by Meta", "marketplace", "facebook by meta", "connected"),
    ("Second Storefront", "storefront", "bigcommerce", "prelaunch"),
    ("Square POS", "pos", "square", "active"),
    ("eBay", "marketplace", "ebay", "disconnected"),
    ("Google Shopping", "marketing", "google_shopping", "active"),
    ("Instagram", "marketing", "instagram", "inactive"),
)
DEFAULT_SORTS = ("use_store_settings", "featured", "newest", "best_selling", "alpha_asc", "price_asc")

# Order status ids and labels (reference/orders.v2.oas2.yml, /order_statuses), with the sort order the
# control panel shows them in (ordersCount_Resp example).
STATUSES: dict[int, tuple[str, str, int]] = {
    0: (
        "Incomplete",
        "An incomplete order happens when a shopper reached the payment page, but did not complete the transaction.",
        0,
    ),
    1: ("Pending", "Customer started the checkout process, but did not complete it.", 1),
    7: (
        "Awaiting Payment",
        "Customer has completed checkout process, but payment has yet to be confirmed.",
        2,
    ),
    11: (
        "Awaiting Fulfillment",
        "Customer has completed the checkout process and payment has been confirmed.",
        3,
    ),
    9: (
        "Awaiting Shipment",
        "Order has been pulled and packaged, and is awaiting collection from a shipping provider.",
        4,
    ),
    8: (
        "Awaiting Pickup",
        "Order has been pulled, and is awaiting customer pickup from a seller-specified location.",
        5,
    ),
    3: (
        "Partially Shipped",
        "Only some items in the order have been shipped, due to some products being pre-order only or other reasons.",
        6,
    ),
    10: (
        "Completed",
        "Client has paid for their digital product and their file(s) are available for download.",
        7,
    ),
    2: (
        "Shipped",
        "Order has been shipped, but receipt has not been confirmed; seller has used the Ship Items action.",
        8,
    ),
    5: ("Cancelled", "Seller has cancelled an order, due to a stock inconsistency or other reasons.", 9),
    6: (
        "Declined",
        "Seller has marked the order as declined for lack of manual payment, or other reasons.",
        10,
    ),
    4: ("Refunded", "Seller has used the Refund action.", 11),
    13: (
        "Disputed",
        "Customer has initiated a dispute resolution process for the PayPal transaction that paid for the order.",
        12,
    ),
    12: (
        "Manual Verification Required",
        "Order is on hold while some aspect needs to be manually confirmed.",
        13,
    ),
    14: ("Partially Refunded", "Seller has partially refunded the order.", 14),
}
# 64 slots: the base status of an order is _STATUS_WHEEL[hash % 64].
_STATUS_WHEEL = (
    (10,) * 22
    + (2,) * 10
    + (11,) * 9
    + (9,) * 3
    + (7,) * 3
    + (1,) * 2
    + (0,) * 2
    + (5,) * 3
    + (4,) * 2
    + (14,) * 2
    + (3,) * 2
    + (8,) * 1
    + (6,) * 1
    + (12,) * 1
    + (13,) * 1
)
# What an order's status becomes when it is updated: fulfilment moves forward.
_NEXT_STATUS = {
    0: 1,
    1: 7,
    7: 11,
    11: 9,
    9: 2,
    2: 10,
    3: 2,
    8: 10,
    12: 11,
    13: 4,
    10: 10,
    4: 4,
    5: 5,
    6: 6,
    14: 14,
}
_PAYMENT_STATUS = {
    0: "",
    1: "pending",
    7: "pending",
    11: "captured",
    9: "captured",
    8: "captured",
    3: "captured",
    10: "captured",
    2: "captured",
    5: "void",
    6: "declined",
    4: "refunded",
    13: "captured",
    12: "held for review",
    14: "partially refunded",
}
_SHIPPED_STATUSES = frozenset({2, 10})
_UNPAID_STATUSES = frozenset({0, 1, 7})
_TAX_RATES_BP = (0, 0, 500, 825, 1000, 2000)  # basis points


# ---------------------------------------------------------------------------------------------- basis


@dataclass(frozen=True)
class Basis:
    """Everything fixed at start-up that record builders need: seed, clock anchor, base sizes, links."""

    seed: int
    anchor: int
    opened: int
    store_hash: str
    api_base: str
    n_customers: int
    n_orders: int
    n_products: int
    n_brands: int
    n_categories: int
    n_channels: int
    n_pages: int
    tie_cluster: int
    tie_ts: int
    keys: dict[str, int]
    channels: tuple[int, ...] = ()
    rare_dates: bool = False
    """Fill fields most stores leave empty: order products' event_date, products' date_last_imported."""

    @property
    def span(self) -> int:
        return self.anchor - 2 - self.opened

    def key(self, resource: str) -> int:
        return self.keys[resource]


RESOURCE_KEYS = (
    "customers",
    "orders",
    "order_products",
    "transactions",
    "products",
    "brands",
    "categories",
    "channels",
    "pages",
    "store",
    "times",
    "mutate",
)


def make_basis(
    *,
    seed: int,
    anchor: int,
    store_hash: str,
    api_base: str,
    counts: dict[str, int],
    tie_cluster: int,
    years: int = 4,
    rare_dates: bool = False,
) -> Basis:
    opened = anchor - years * 365 * 86400
    return Basis(
        seed=seed,
        anchor=anchor,
        opened=opened,
        store_hash=store_hash,
        api_base=api_base,
        n_customers=counts["customers"],
        n_orders=counts["orders"],
        n_products=counts["products"],
        n_brands=counts["brands"],
        n_categories=counts["categories"],
        n_channels=counts["channels"],
        n_pages=counts["pages"],
        tie_cluster=tie_cluster,
        tie_ts=anchor - 7 * 86400 - 3601,
        keys={name: stream_key(seed, name) for name in RESOURCE_KEYS},
        channels=tuple(base_id("channels", i) for i in range(max(counts["channels"], 1))),
        rare_dates=rare_dates,
    )


# ------------------------------------------------------------------------------------------- base ids

_ID_LAYOUT = {
    # resource: (first id, one gap after every N ids; 0 = no gaps)
    "customers": (1, 9),
    "orders": (100, 11),
    "products": (77, 13),
    "brands": (30, 0),
    "categories": (18, 0),
    "pages": (1, 0),
}


def base_id(resource: str, index: int) -> int:
    """The id of the index-th generated record. Ids have gaps, as a real store's do after deletions."""
    if resource == "channels":
        return 1 if index == 0 else 664_000 + index * 1_013
    first, gap = _ID_LAYOUT[resource]
    return first + index + (index // gap if gap else 0)


def base_times(basis: Basis, resource: str, index: int, count: int) -> tuple[int, int]:
    """(date_created, date_modified) of a generated record; both at least one second before the anchor.

    Creation times grow with the index, so ids grow with time as in a real store. A quarter of the
    records were modified long after they were created; the tie cluster shares one date_modified second.
    """
    h = record_hash(basis.key("times"), index * 31 + len(resource))
    span = basis.span
    created = basis.opened + (index * span + (h % span)) // max(count, 1)
    roll = (h >> 40) & 0xFF
    if in_tie_cluster(basis, resource, index, count):
        return created, basis.tie_ts
    last = basis.anchor - 1
    if roll < 96:
        modified = created
    elif roll < 192:
        modified = min(last, created + ((h >> 20) % (3 * 86400)))
    else:
        room = last - created
        # Skewed towards recent changes, as real stores are.
        frac = ((h >> 8) & 0xFFF) / 4096.0
        modified = created + int(room * (1.0 - frac * frac))
    return created, max(created, min(modified, last))


def in_tie_cluster(basis: Basis, resource: str, index: int, count: int) -> bool:
    """Spread ``tie_cluster`` members evenly over the oldest 90% of a resource's records."""
    if resource not in ("customers", "orders", "products") or basis.tie_cluster <= 0:
        return False
    m = (count * 9) // 10
    if index >= m or m <= 0:
        return False
    t = min(basis.tie_cluster, m)
    return ((index + 1) * t) // m > (index * t) // m


# ------------------------------------------------------------------------------------------ customers


def customer_name(basis: Basis, cid: int) -> tuple[str, str, str]:
    """(first_name, last_name, email) of a customer; stable across updates so orders can quote it."""
    h = record_hash(basis.key("customers"), cid)
    first, first_ascii = FIRST_NAMES[h % len(FIRST_NAMES)]
    last, last_ascii = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
    return first, last, f"{first_ascii}.{last_ascii}{cid}@example.com"


def customer(basis: Basis, cid: int, version: int, created: int, modified: int) -> dict[str, Any]:
    h = record_hash(basis.key("customers"), cid)
    v = record_hash(basis.key("customers"), cid, version) if version else h
    first, last, email = customer_name(basis, cid)
    channels = channel_ids_of(basis)
    origin = channels[0] if (h >> 24) % 8 or len(channels) == 1 else channels[(h >> 27) % len(channels)]
    ip = (
        ""
        if (h >> 30) % 5 == 0
        else f"{(h >> 32) % 223 + 1}.{(h >> 40) % 256}.{(h >> 48) % 256}.{(h >> 56) % 254 + 1}"
    )
    phone = "" if (v >> 34) % 4 == 0 else f"+1 555-{(v >> 36) % 900 + 100:03d}-{(v >> 46) % 10000:04d}"
    return {
        "id": cid,
        "authentication": {"force_password_reset": (v >> 5) % 23 == 0},
        "company": COMPANIES[(v >> 10) % len(COMPANIES)],
        "customer_group_id": 0 if (v >> 14) % 4 else (v >> 17) % 3 + 1,
        "email": email,
        "first_name": first,
        "last_name": last,
        "notes": NOTES[(v >> 20) % len(NOTES)] if version == 0 else f"Updated (revision {version}).",
        "phone": phone,
        "registration_ip_address": ip,
        "tax_exempt_category": "" if (h >> 50) % 16 else "G",
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "accepts_product_review_abandoned_cart_emails": (h >> 52) % 3 == 0,
        "origin_channel_id": origin,
        "channel_ids": [origin] if origin != 1 or (h >> 55) % 2 else [1],
        "address_count": (h >> 57) % 3,
        "attribute_count": 0,
        "store_credit_amounts": [{"amount": 0}]
        if (h >> 59) % 4
        else [{"amount": round(((h >> 12) % 5000) / 100, 2)}],
    }


def customer_sort_key(basis: Basis, cid: int, field: str) -> Any:
    if field == "last_name":
        return customer_name(basis, cid)[1]
    raise KeyError(field)


# -------------------------------------------------------------------------------------------- catalog


def product_core(basis: Basis, pid: int) -> tuple[str, str, int, str, int]:
    """(name, sku, price in cents, type, brand index) of a product's original version.

    Order line items quote these, so they stay stable when the product is later updated.
    """
    h = record_hash(basis.key("products"), pid)
    name = (
        f"{ADJECTIVES[h % len(ADJECTIVES)]} {MATERIALS[(h >> 6) % len(MATERIALS)]} "
        f"{NOUNS[(h >> 12) % len(NOUNS)]}{EMOJI_SUFFIXES[(h >> 18) % len(EMOJI_SUFFIXES)]} #{pid}"
    )
    sku = f"SKU-{(h >> 22) % 0xFFFF:04X}-{pid}"
    price = 199 + (h >> 30) % 49_800
    ptype = "digital" if (h >> 47) % 10 == 0 else "physical"
    return name, sku, price, ptype, (h >> 51) % max(basis.n_brands, 1)


def product(
    basis: Basis,
    pid: int,
    version: int,
    created: int,
    modified: int,
    live_brands: frozenset[int] | None,
    live_categories: frozenset[int] | None,
) -> dict[str, Any]:
    h = record_hash(basis.key("products"), pid)
    v = record_hash(basis.key("products"), pid, version) if version else h
    name, sku, base_price, ptype, brand_index = product_core(basis, pid)
    price = (
        base_price if version == 0 else base_price + (v % 2000) - 1000 if base_price > 1200 else base_price
    )
    price_f = price / 100
    sale = round(price_f * 0.8, 2) if (v >> 4) % 6 == 0 else 0
    brand_id = 0
    if basis.n_brands and (h >> 3) % 7:
        brand_id = base_id("brands", brand_index)
        if live_brands is not None and brand_id not in live_brands:
            brand_id = 0
    cats: list[int] = []
    if basis.n_categories:
        for k in range((h >> 9) % 3 + 1):
            cid = base_id("categories", (h >> (13 + 5 * k)) % basis.n_categories)
            if cid not in cats and (live_categories is None or cid in live_categories):
                cats.append(cid)
    desc_len = (h >> 28) % 16
    if desc_len == 0:
        description = ""
    elif desc_len == 15:
        # A long description: a few kilobytes of HTML, as real catalogs carry.
        description = "<p>" + "</p><p>".join(LOREM[(h + k) % len(LOREM)] for k in range(60)) + "</p>"
    else:
        description = "<p>" + " ".join(LOREM[(h + k) % len(LOREM)] for k in range(desc_len)) + "</p>"
    inventory = (v >> 33) % 500 if (h >> 60) % 2 else 0
    slug = name.split(" #")[0].lower().replace(" ", "-")
    imported = ""
    if basis.rare_dates and mix(h ^ 0x1D) % 4 == 0:
        # A date-time like the spec's examples (products_catalog.v3.yml: '2015-07-03T18:16:02+00:00').
        imported = iso_offset(created + mix(h ^ 0x1E) % max(1, modified - created + 1))
    return {
        "id": pid,
        "name": name,
        "type": ptype,
        "sku": sku,
        "description": description,
        "weight": 0 if ptype == "digital" else round(((h >> 36) % 2000) / 100, 2),
        "width": (h >> 38) % 40,
        "depth": (h >> 40) % 40,
        "height": (h >> 42) % 40,
        "price": price_f,
        "cost_price": round(price_f * 0.55, 2),
        "retail_price": 0 if (h >> 44) % 3 else round(price_f * 1.2, 2),
        "sale_price": sale,
        "map_price": 0,
        "tax_class_id": 0,
        "product_tax_code": "",
        "calculated_price": sale or price_f,
        "categories": cats,
        "brand_id": brand_id,
        "option_set_id": 0 if (h >> 46) % 4 else (h >> 48) % 40 + 1,
        "option_set_display": "right",
        "inventory_level": inventory,
        "inventory_warning_level": 0 if inventory == 0 else 5,
        "inventory_tracking": "product" if inventory else "none",
        "reviews_rating_sum": (h >> 49) % 40,
        "reviews_count": (h >> 49) % 9,
        "total_sold": (v >> 50) % 300,
        "fixed_cost_shipping_price": 0,
        "is_free_shipping": (h >> 53) % 5 == 0,
        "is_visible": (v >> 54) % 10 != 0,
        "is_featured": (h >> 55) % 8 == 0,
        "related_products": [-1],
        "warranty": "" if (h >> 56) % 4 else "Two-year limited warranty.",
        "bin_picking_number": "" if (h >> 57) % 3 else f"BIN-{pid % 97}",
        "layout_file": "product.html",
        "upc": "" if (h >> 58) % 3 else f"{(h % 10**12):012d}",
        "mpn": "",
        "gtin": "",
        "date_last_imported": imported,
        "search_keywords": "",
        "availability": "preorder" if (h >> 59) % 50 == 0 else "available",
        "availability_description": "",
        "gift_wrapping_options_type": "any",
        "gift_wrapping_options_list": [],
        "sort_order": 0,
        "condition": ("New", "New", "New", "Used", "Refurbished")[(h >> 61) % 5],
        "is_condition_shown": False,
        "order_quantity_minimum": 0,
        "order_quantity_maximum": 0,
        "page_title": "" if (v >> 2) % 3 else name[:60],
        "meta_keywords": [] if (h >> 5) % 3 else ["sandbox", NOUNS[(h >> 12) % len(NOUNS)].lower()],
        "meta_description": "",
        "view_count": (v >> 7) % 10000,
        "preorder_release_date": iso_offset(modified + 30 * 86400) if (h >> 59) % 50 == 0 else None,
        "preorder_message": "",
        "is_preorder_only": False,
        "is_price_hidden": False,
        "price_hidden_label": "",
        "custom_url": {"url": f"/{slug}-{pid}/", "is_customized": (h >> 11) % 9 == 0},
        "base_variant_id": pid * 3 + 1,
        "open_graph_type": "product",
        "open_graph_title": "",
        "open_graph_description": "",
        "open_graph_use_meta_description": True,
        "open_graph_use_product_name": True,
        "open_graph_use_image": True,
        "date_created": iso_offset(created),
        "date_modified": iso_offset(modified),
    }


def product_sort_key(basis: Basis, pid: int, field: str) -> str:
    """``name`` or ``sku`` without rendering the product (both are stable across updates)."""
    name, sku, _price, _ptype, _brand = product_core(basis, pid)
    if field == "name":
        return name
    if field == "sku":
        return sku
    raise KeyError(field)


def brand(basis: Basis, bid: int, version: int) -> dict[str, Any]:
    h = record_hash(basis.key("brands"), bid)
    index = bid - base_id("brands", 0)
    base = BRAND_NAMES[index % len(BRAND_NAMES)]
    name = base if index < len(BRAND_NAMES) else f"{base} {index // len(BRAND_NAMES) + 1}"
    slug = name.lower().replace(" ", "-").replace(".", "")
    return {
        "id": bid,
        "name": name,
        "page_title": "" if version == 0 and h % 3 else f"{name} (rev {version})",
        "meta_keywords": [""] if (h >> 4) % 2 else ["modern", "clean"],
        "meta_description": "" if (h >> 6) % 2 else f"{name} makes things.",
        "image_url": "" if (h >> 8) % 3 else f"https://cdn.example.com/brands/{bid}.png",
        "search_keywords": "",
        "custom_url": {"url": f"/brands/{slug}.html", "is_customized": False},
    }


def category_parent(basis: Basis, index: int) -> int:
    """Parent index (or -1 for a root) of the index-th category; roots come first, depth stays small."""
    if index < max(2, basis.n_categories // 5):
        return -1
    h = record_hash(basis.key("categories"), index, 99)
    return int(h % index)


def category_tree(basis: Basis, index: int, storefronts: int) -> int:
    """Tree 1 is the default storefront's; a second storefront gets every tenth root and its subtree."""
    while True:
        parent = category_parent(basis, index)
        if parent < 0:
            return 2 if storefronts > 1 and index % 10 == 9 else 1
        index = parent


def category_fields(basis: Basis, cid: int, version: int, parent_id: int) -> dict[str, Any]:
    index = cid - base_id("categories", 0)
    h = record_hash(basis.key("categories"), cid)
    v = record_hash(basis.key("categories"), cid, version) if version else h
    word = CATEGORY_WORDS[index % len(CATEGORY_WORDS)]
    name = word if index < len(CATEGORY_WORDS) else f"{word} {index // len(CATEGORY_WORDS) + 1}"
    slug = name.lower().replace(" ", "-")
    return {
        "name": name[:50],
        "parent_id": parent_id,
        "description": "" if h % 3 else f"<p>All things {name.lower()}.</p>",
        "views": (v >> 4) % 5000,
        "sort_order": (h >> 16) % 10,
        "page_title": "" if (h >> 20) % 2 else name,
        "meta_keywords": [""] if (h >> 22) % 2 else [slug],
        "meta_description": "",
        "layout_file": "category.html",
        "image_url": "",
        "is_visible": (h >> 24) % 12 != 0,
        "search_keywords": "",
        "default_product_sort": DEFAULT_SORTS[(h >> 26) % len(DEFAULT_SORTS)],
        "slug": f"/{slug}/",
        "uuid": _uuid(h, v if version else 0),
    }


CATEGORY_FIELDS = (
    "name",
    "description",
    "views",
    "sort_order",
    "page_title",
    "meta_keywords",
    "meta_description",
    "layout_file",
    "image_url",
    "is_visible",
    "search_keywords",
    "default_product_sort",
)
"""What the legacy categories endpoint and the category-trees endpoint share, in the specs' order."""


def category(basis: Basis, cid: int, version: int, parent_id: int) -> dict[str, Any]:
    """The legacy /v3/catalog/categories shape."""
    f = category_fields(basis, cid, version, parent_id)
    return {
        "id": cid,
        "parent_id": parent_id,
        **{name: f[name] for name in CATEGORY_FIELDS},
        "custom_url": {"url": f["slug"], "is_customized": False},
    }


def tree_category(basis: Basis, cid: int, version: int, parent_id: int, tree_id: int) -> dict[str, Any]:
    """The /v3/catalog/trees/categories shape: ``category_id`` and ``url`` instead of ``id`` and
    ``custom_url`` (reference/catalog/category-trees_catalog.v3.yml)."""
    f = category_fields(basis, cid, version, parent_id)
    return {
        "category_id": cid,
        "category_uuid": f["uuid"],
        "parent_id": parent_id,
        "tree_id": tree_id,
        **{name: f[name] for name in CATEGORY_FIELDS},
        "url": {"path": f["slug"], "is_customized": False},
    }


def _uuid(h: int, salt: int) -> str:
    x = f"{mix(h ^ 0xABCDEF ^ salt):016x}{mix(h + 7):016x}"
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-a{x[17:20]}-{x[20:32]}"


# ------------------------------------------------------------------------------------ channels, pages


def channel_ids_of(basis: Basis) -> tuple[int, ...]:
    """The channels generated with the store (channel 1, the default storefront, first)."""
    return basis.channels or tuple(base_id("channels", i) for i in range(max(basis.n_channels, 1)))


def channel(
    basis: Basis, chid: int, index: int, version: int, created: int, modified: int, deleted: bool
) -> dict[str, Any]:
    name, ctype, platform, status = CHANNEL_TEMPLATES[index % len(CHANNEL_TEMPLATES)]
    if index >= len(CHANNEL_TEMPLATES):
        name = f"{name} {index // len(CHANNEL_TEMPLATES) + 1}"
    if version and chid != 1:
        status = ("active", "inactive", "connected")[version % 3] if ctype != "storefront" else "active"
    if deleted:
        status = "deleted"
    return {
        "id": chid,
        "external_id": "",
        "is_listable_from_ui": ctype != "marketing",
        "is_visible": status != "deleted",
        "is_enabled": status in ("active", "connected"),
        "status": status,
        "name": name,
        "type": ctype,
        "platform": platform,
        "date_created": iso_z(created),
        "date_modified": iso_z(modified),
        "icon_url": f"https://storage.googleapis.com/bigcommerce-production-dev-center/images/{platform.split()[0]}_icon.svg",
    }


PAGE_TYPES = ("page", "page", "raw", "contact_form", "link", "blog", "page")


def page(basis: Basis, page_id: int, index: int, version: int, with_body: bool) -> dict[str, Any]:
    """A Pages v3 object; its fields depend on the page type (reference/pages.v3.yml, typePage ...)."""
    h = record_hash(basis.key("pages"), page_id)
    v = record_hash(basis.key("pages"), page_id, version) if version else h
    ptype = PAGE_TYPES[index % len(PAGE_TYPES)]
    channels = channel_ids_of(basis)
    storefronts = [
        c for i, c in enumerate(channels) if CHANNEL_TEMPLATES[i % len(CHANNEL_TEMPLATES)][1] == "storefront"
    ]
    channel_id = storefronts[(h >> 3) % len(storefronts)] if storefronts else 1
    titles = {
        "page": ("About Us", "Shipping & Returns", "Größentabelle", "FAQ", "Privacy Policy"),
        "raw": ("robots.txt", "Custom Landing", "Sitemap"),
        "contact_form": ("Contact Us", "Wholesale Enquiries"),
        "link": ("Our Blog on Medium", "Careers"),
        "blog": ("Blog", "News"),
    }[ptype]
    name = f"{titles[index % len(titles)]} {page_id}"
    slug = name.lower().replace(" ", "-").replace("&", "and")
    rec: dict[str, Any] = {
        "id": page_id,
        "channel_id": channel_id,
        "name": name,
        "is_visible": (v >> 5) % 7 != 0,
        "parent_id": 0,
        "sort_order": index % 5,
        "type": ptype,
        "is_homepage": False,
        "is_customers_only": (h >> 9) % 11 == 0,
        "url": f"/{slug}/" if ptype != "blog" else "/blog/",
    }
    if ptype in ("page", "contact_form", "blog"):
        rec["meta_title"] = "" if (h >> 11) % 2 else name
        rec["meta_keywords"] = None if (h >> 12) % 2 else "sandbox,page"
        rec["meta_description"] = "" if version == 0 else f"Revision {version}"
    if ptype != "link":
        rec["search_keywords"] = "" if (h >> 13) % 3 else "help,info"
    if ptype == "contact_form":
        rec["email"] = "" if (h >> 14) % 2 else f"contact{page_id}@example.com"
        rec["contact_fields"] = CONTACT_FIELDS[(h >> 15) % len(CONTACT_FIELDS)]
    if ptype == "link":
        rec["link"] = f"https://example.com/{slug}"
    if ptype == "raw":
        rec["content_type"] = "text/html" if index % 2 else "text/plain"
    if with_body and ptype != "link":
        paragraphs = 1 + (v >> 17) % 6
        rec["body"] = (
            "<div>" + "".join(f"<p>{LOREM[(v + k) % len(LOREM)]}</p>" for k in range(paragraphs)) + "</div>"
        )
    return rec


def store_info(basis: Basis, version: int, channels: int) -> dict[str, Any]:
    """GET /v2/store, shaped as the spec's example (reference/store_information.v2.yml); id is the hash."""
    name = "Sandbox Store" if version == 0 else f"Sandbox Store (revision {version})"
    return {
        "id": basis.store_hash,
        "account_uuid": _uuid(basis.key("store"), 1),
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


# --------------------------------------------------------------------------------------------- orders


class OrderShape(NamedTuple):
    """What an order's original version implies for its children, decided once at start-up."""

    items: int
    transactions: int
    deleted: bool
    status: int


def order_shape(basis: Basis, oid: int, index: int) -> OrderShape:
    """Line-item and transaction counts of an order as generated.

    The first orders of every store are fixed examples of the awkward cases a connector must handle:
    index 1 has no line items, index 2 a single one, index 3 more than 50 in one consignment, index 4 is
    soft-deleted and index 5 has no transactions. Beyond them the same cases recur at low rates.
    """
    h = record_hash(basis.key("orders"), oid)
    status = base_status(h, index)
    roll = (h >> 20) % 1000
    if index == 1:
        items = 0
    elif index == 2:
        items = 1
    elif index == 3:
        items = BIG_ORDER_ITEMS + (h >> 30) % 15
    elif index <= 5:
        items = 2 + (h >> 30) % 4
    elif roll < 15:
        items = 0
    elif roll < 400:
        items = 1
    elif roll > 996:
        items = BIG_ORDER_ITEMS + (h >> 30) % 15
    else:
        items = 2 + (h >> 30) % 4
    if items == 0:
        status = 0
    deleted = index == 4 or (index > 5 and (h >> 40) % 200 == 0)
    return OrderShape(
        items=items, transactions=base_transactions(h, status, index), deleted=deleted, status=status
    )


def base_status(h: int, index: int) -> int:
    if index == 1:
        return 0
    if index == 5:
        return 7
    if 1 < index <= 4:
        return 10
    return _STATUS_WHEEL[(h >> 2) % 64]


def base_transactions(h: int, status: int, index: int) -> int:
    if status in _UNPAID_STATUSES or _payment_method_index(h) == 0:
        return 0
    if status in (4, 14, 5):
        return 2
    return 1 + ((h >> 48) % 4 == 0)


def _payment_method_index(h: int) -> int:
    return int((h >> 44) % 12)


def status_for_version(base: int, version: int) -> int:
    status = base
    for _ in range(min(version, 8)):
        status = _NEXT_STATUS[status]
    return status


_PAYMENT_METHODS = (
    "Manual",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "Credit Card",
    "PayPal",
    "Credit Card",
    "Cash on Delivery",
    "Credit Card",
    "Store Credit",
    "Test Payment Gateway",
)


class LineItem(NamedTuple):
    op_id: int
    product_id: int
    name: str
    sku: str
    ptype: str
    quantity: int
    price: int
    tax_bp: int
    consignment: int  # index into OrderPlan.consignments
    option_seed: int


class Consignment(NamedTuple):
    kind: str  # "shipping" | "pickups" | "downloads" | "gift_certificates"
    cid: int
    items: tuple[int, ...]  # positions in OrderPlan.items


class OrderPlan(NamedTuple):
    """One order version with its line items and consignments; the order, its products, consignments and
    transactions are all rendered from it, so they always agree."""

    oid: int
    position: int
    version: int
    h: int
    created: int
    modified: int
    deleted: bool
    status: int
    customer_id: int
    channel_id: int
    items: tuple[LineItem, ...]
    consignments: tuple[Consignment, ...]
    transactions: tuple[tuple[int, int], ...]


def plan_order(
    basis: Basis,
    oid: int,
    index: int,
    version: int,
    created: int,
    modified: int,
    deleted: bool,
    items: list[tuple[int, int]],
    transactions: list[tuple[int, int]],
    product_core_of: Callable[[int], tuple[str, str, int, str, int]] | None = None,
) -> OrderPlan:
    """An order version with its line items; ``product_core_of`` may memoise ``product_core``."""
    h = record_hash(basis.key("orders"), oid)
    status = status_for_version(order_shape(basis, oid, index).status, version)
    # Customers and products that existed when the order was placed: both grow with time like orders.
    share = (index + 1) / max(basis.n_orders, 1)
    if basis.n_customers and (h >> 8) % 7:
        cidx = (h >> 11) % max(1, min(basis.n_customers, int(basis.n_customers * share) + 1))
        customer_id = base_id("customers", cidx)
    else:
        customer_id = 0
    channels = channel_ids_of(basis)
    channel_id = 1 if (h >> 14) % 8 or len(channels) == 1 else channels[(h >> 17) % len(channels)]
    tax_bp = _TAX_RATES_BP[(h >> 52) % len(_TAX_RATES_BP)]
    kind_roll = (h >> 56) % 20
    big = len(items) > 50
    op_key = basis.key("order_products")
    n_products = max(1, min(basis.n_products, int(basis.n_products * share) + 1))
    core = product_core_of or (lambda pid: product_core(basis, pid))
    drafts: list[tuple[int, int, str, str, str, int, int, int]] = []
    physical: list[int] = []
    digital: list[int] = []
    gifts: list[int] = []
    for op_id, op_version in items:
        lh = record_hash(op_key, op_id)
        qh = record_hash(op_key, op_id, op_version) if op_version else lh
        if basis.n_products and lh % 40:
            pid = base_id("products", (lh >> 6) % n_products)
            name, sku, price, ptype, _brand = core(pid)
        else:
            pid, name, sku, price, ptype = 0, "$25 Gift Certificate", "", 2500, "giftcertificate"
        if big and ptype != "physical":
            ptype = "physical"
        qty = 1 if qh % 10 < 7 or big else 2 + (qh >> 4) % 4
        (physical if ptype == "physical" else digital if ptype == "digital" else gifts).append(len(drafts))
        drafts.append((op_id, pid, name, sku, ptype, qty, price, lh))
    cons: list[Consignment] = []
    if physical:
        if kind_roll == 0 and not big:
            cons.append(Consignment("pickups", oid * 3 + 1, tuple(physical)))
        elif kind_roll < 3 and len(physical) > 1 and not big:
            half = len(physical) // 2
            cons.append(Consignment("shipping", oid * 3, tuple(physical[:half])))
            cons.append(Consignment("shipping", oid * 3 + 1, tuple(physical[half:])))
        else:
            cons.append(Consignment("shipping", oid * 3, tuple(physical)))
    if digital:
        cons.append(Consignment("downloads", 0, tuple(digital)))
    if gifts:
        cons.append(Consignment("gift_certificates", 0, tuple(gifts)))
    where = [-1] * len(drafts)
    for ci, c in enumerate(cons):
        for pos in c.items:
            where[pos] = ci
    placed = [
        LineItem(op_id, pid, name, sku, ptype, qty, price, tax_bp, where[pos], lh)
        for pos, (op_id, pid, name, sku, ptype, qty, price, lh) in enumerate(drafts)
    ]
    return OrderPlan(
        oid=oid,
        position=index,
        version=version,
        h=h,
        created=created,
        modified=modified,
        deleted=deleted,
        status=status,
        customer_id=customer_id,
        channel_id=channel_id,
        items=tuple(placed),
        consignments=tuple(cons),
        transactions=tuple(transactions),
    )


def _line_money(li: LineItem) -> tuple[int, int, int]:
    """(price_inc_tax, total_ex_tax, total_inc_tax) in cents."""
    inc = li.price + (li.price * li.tax_bp + 5000) // 10000
    return inc, li.price * li.quantity, inc * li.quantity


def _shipped_qty(plan: OrderPlan, pos: int, li: LineItem) -> int:
    if li.ptype != "physical":
        return 0
    if plan.status in _SHIPPED_STATUSES:
        return li.quantity
    if plan.status == 3:
        return li.quantity if pos % 2 == 0 else 0
    return 0


def order_product(basis: Basis, plan: OrderPlan, pos: int) -> dict[str, Any]:
    """One element of GET /v2/orders/{id}/products (orderProducts: additionalProperties false)."""
    li = plan.items[pos]
    inc, total_ex, total_inc = _line_money(li)
    cons = plan.consignments[li.consignment] if li.consignment >= 0 else None
    refunded = plan.status == 4 or (plan.status == 14 and pos == 0)
    oh = li.option_seed
    options: list[dict[str, Any]] = []
    if li.ptype == "physical" and oh % 5 == 0:
        for k in range(1 + (oh >> 3) % 2):
            display, otype, style, values = OPTION_TYPES[(oh >> (5 + k)) % len(OPTION_TYPES)]
            value = values[(oh >> (9 + k)) % len(values)]
            options.append(
                {
                    "id": li.op_id * 4 + k,
                    "option_id": 18 + k,
                    "order_product_id": li.op_id,
                    "product_option_id": 120 + k,
                    "display_name": display,
                    "display_name_customer": display,
                    "display_name_merchant": display,
                    "display_value": value,
                    "display_value_customer": value,
                    "display_value_merchant": value,
                    "value": value,
                    "type": otype,
                    "name": display,
                    "display_style": style,
                }
            )
    discounted = total_inc if oh % 7 else total_inc - total_inc // 20
    weight = "0.0000" if li.ptype != "physical" else dims4(50 + (oh >> 12) % 2000)
    event_name: str | None = None
    event_date: str | None = None
    if basis.rare_dates and mix(oh ^ 0xE7) % 8 == 0:
        # orders.v2.oas2.yml, orderProducts.event_date: "format: date", a date and not a timestamp.
        event_name = "Delivery Date"
        event_date = iso_date(plan.created + (3 + mix(oh ^ 0xE8) % 28) * 86400)
    return {
        "id": li.op_id,
        "order_id": plan.oid,
        "product_id": li.product_id,
        "variant_id": li.product_id * 3 + 1 if li.product_id else 0,
        "order_pickup_method_id": cons.cid if cons is not None and cons.kind == "pickups" else 0,
        "order_address_id": cons.cid if cons is not None and cons.kind == "shipping" else 0,
        "name": li.name,
        "name_customer": li.name,
        "name_merchant": li.name,
        "sku": li.sku,
        "upc": "",
        "type": li.ptype,
        "base_price": money4(li.price),
        "price_ex_tax": money4(li.price),
        "price_inc_tax": money4(inc),
        "price_tax": money4(inc - li.price),
        "base_total": money4(total_ex),
        "total_ex_tax": money4(total_ex),
        "total_inc_tax": money4(total_inc),
        "total_tax": money4(total_inc - total_ex),
        "weight": weight,
        "width": "1.0000",
        "height": "1.0000",
        "depth": "1.0000",
        "quantity": li.quantity,
        "base_cost_price": money4(li.price * 55 // 100),
        "cost_price_inc_tax": money4(li.price * 55 // 100),
        "cost_price_ex_tax": money4(li.price * 55 // 100),
        "cost_price_tax": "0.0000",
        "is_refunded": refunded,
        "quantity_refunded": li.quantity if refunded else 0,
        "refund_amount": "0.0000",
        "return_id": 0,
        "wrapping_id": 0,
        "wrapping_name": None if oh % 3 else "",
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_message": "",
        "quantity_shipped": _shipped_qty(plan, pos, li),
        "event_name": event_name,
        "event_date": event_date,
        "fixed_shipping_cost": "0.0000",
        "ebay_item_id": "",
        "ebay_transaction_id": "",
        "option_set_id": (oh >> 20) % 40 + 1 if options else None,
        "parent_order_product_id": None,
        "is_bundled_product": False,
        "bin_picking_number": "",
        "external_id": None,
        "brand": "",
        "applied_discounts": (
            []
            if oh % 7
            else [
                {
                    "id": "total-coupon",
                    "amount": money4(total_inc // 20),
                    "name": "5% off",
                    "code": "SAVE5",
                    "target": "order",
                }
            ]
        ),
        "product_options": options,
        "configurable_fields": [],
        "gift_certificate_id": None if li.ptype != "giftcertificate" else li.op_id + 5000,
        "discounted_total_inc_tax": money4(discounted),
    }


def link(basis: Basis, resource: str) -> dict[str, str]:
    """A sub-resource link object ``{url, resource}`` as order_Resp carries them."""
    return {"url": f"{basis.api_base}/stores/{basis.store_hash}/v2{resource}", "resource": resource}


class Totals(NamedTuple):
    sub_ex: int
    sub_inc: int
    ship_ex: int
    ship_inc: int
    discount: int
    total_ex: int
    total_inc: int
    items_total: int
    items_shipped: int


def order_totals(plan: OrderPlan) -> Totals:
    """Money of an order in cents, summed from its line items so order and products always agree."""
    sub_ex = sub_inc = items_total = shipped = 0
    for pos, li in enumerate(plan.items):
        _inc, t_ex, t_inc = _line_money(li)
        sub_ex += t_ex
        sub_inc += t_inc
        items_total += li.quantity
        shipped += _shipped_qty(plan, pos, li)
    has_shipping = any(c.kind == "shipping" for c in plan.consignments)
    ship_ex = (500 + (plan.h >> 3) % 1500) if has_shipping and (plan.h >> 2) % 3 else 0
    tax_bp = plan.items[0].tax_bp if plan.items else 0
    ship_inc = ship_ex + (ship_ex * tax_bp + 5000) // 10000
    discount = sub_inc // 20 if any(li.option_seed % 7 == 0 for li in plan.items) else 0
    return Totals(
        sub_ex,
        sub_inc,
        ship_ex,
        ship_inc,
        discount,
        sub_ex + ship_ex - discount,
        sub_inc + ship_inc - discount,
        items_total,
        shipped,
    )


def order(basis: Basis, plan: OrderPlan) -> dict[str, Any]:
    """GET /v2/orders/{id} without includes (order_Resp in reference/orders.v2.oas2.yml)."""
    h = plan.h
    oid = plan.oid
    t = order_totals(plan)
    sub_ex, sub_inc, ship_ex, ship_inc, discount = t.sub_ex, t.sub_inc, t.ship_ex, t.ship_inc, t.discount
    total_ex, total_inc, items_total, shipped = t.total_ex, t.total_inc, t.items_total, t.items_shipped
    has_shipping = any(c.kind == "shipping" for c in plan.consignments)
    status_name = STATUSES[plan.status][0]
    if plan.customer_id:
        first, last, email = customer_name(basis, plan.customer_id)
    else:
        first = FIRST_NAMES[(h >> 5) % len(FIRST_NAMES)][0]
        last = LAST_NAMES[(h >> 9) % len(LAST_NAMES)][0]
        email = f"guest{oid}@example.com"
    place = PLACES[(h >> 23) % len(PLACES)]
    pm = _PAYMENT_METHODS[_payment_method_index(h)]
    shipped_at = ""
    if plan.status in _SHIPPED_STATUSES and has_shipping:
        shipped_at = rfc2822(min(plan.modified, plan.created + 3600 + (h >> 27) % (5 * 86400)))
    refunded = total_inc if plan.status == 4 else (total_inc // 3 if plan.status == 14 else 0)
    digital_only = bool(plan.items) and all(li.ptype != "physical" for li in plan.items)
    return {
        "id": oid,
        "customer_id": plan.customer_id,
        "date_created": rfc2822(plan.created),
        "date_modified": rfc2822(plan.modified),
        "date_shipped": shipped_at,
        "status_id": plan.status,
        "status": status_name,
        "subtotal_ex_tax": money4(sub_ex),
        "subtotal_inc_tax": money4(sub_inc),
        "subtotal_tax": money4(sub_inc - sub_ex),
        "base_shipping_cost": money4(ship_ex),
        "shipping_cost_ex_tax": money4(ship_ex),
        "shipping_cost_inc_tax": money4(ship_inc),
        "shipping_cost_tax": money4(ship_inc - ship_ex),
        "shipping_cost_tax_class_id": 2,
        "base_handling_cost": "0.0000",
        "handling_cost_ex_tax": "0.0000",
        "handling_cost_inc_tax": "0.0000",
        "handling_cost_tax": "0.0000",
        "handling_cost_tax_class_id": 2,
        "base_wrapping_cost": "0.0000",
        "wrapping_cost_ex_tax": "0.0000",
        "wrapping_cost_inc_tax": "0.0000",
        "wrapping_cost_tax": "0.0000",
        "wrapping_cost_tax_class_id": 3,
        "total_ex_tax": money4(total_ex),
        "total_inc_tax": money4(total_inc),
        "total_tax": money4(total_inc - total_ex),
        "is_tax_inclusive_pricing": False,
        "items_total": items_total,
        "items_shipped": shipped,
        "payment_method": pm,
        "payment_provider_id": "" if pm in ("Manual", "Cash on Delivery") else f"{(h >> 7) % 10**10:010d}",
        "payment_status": _PAYMENT_STATUS[plan.status],
        "refunded_amount": money4(refunded),
        "order_is_digital": digital_only,
        "store_credit_amount": "0.0000",
        "gift_certificate_amount": "0.0000",
        "ip_address": f"{(h >> 33) % 223 + 1}.{(h >> 41) % 256}.{(h >> 49) % 256}.{(h >> 57) % 254 + 1}",
        "ip_address_v6": "",
        "geoip_country": place[3],
        "geoip_country_iso2": place[4],
        "currency_id": 1,
        "currency_code": "USD",
        "currency_exchange_rate": "1.0000000000",
        "default_currency_id": 1,
        "default_currency_code": "USD",
        "staff_notes": "" if plan.version == 0 else f"Updated by staff (revision {plan.version}).",
        "customer_message": "" if (h >> 19) % 5 else "Please leave at the door — merci!",
        "discount_amount": money4(discount),
        "coupon_discount": money4(discount),
        "shipping_address_count": sum(1 for c in plan.consignments if c.kind == "shipping"),
        "is_deleted": plan.deleted,
        "ebay_order_id": "0",
        "cart_id": _uuid(h, 3),
        "billing_address": {
            "first_name": first,
            "last_name": last,
            "company": COMPANIES[(h >> 29) % len(COMPANIES)],
            "street_1": f"{(h >> 31) % 9000 + 1} {STREETS[(h >> 35) % len(STREETS)]}",
            "street_2": "",
            "city": place[0],
            "state": place[1],
            "zip": place[2],
            "country": place[3],
            "country_iso2": place[4],
            "phone": "" if (h >> 39) % 3 == 0 else f"555-{(h >> 43) % 900 + 100}-{(h >> 47) % 9000 + 1000}",
            "email": email,
            "form_fields": [],
        },
        "is_email_opt_in": (h >> 61) % 2 == 0,
        "credit_card_type": None,
        "order_source": ("www", "www", "www", "manual", "external", "checkout_api", "iphone")[(h >> 58) % 7],
        "channel_id": plan.channel_id,
        "external_source": None,
        "consignments": link(basis, f"/orders/{oid}/consignments"),
        "products": link(basis, f"/orders/{oid}/products"),
        "shipping_addresses": link(basis, f"/orders/{oid}/shippingaddresses"),
        "coupons": link(basis, f"/orders/{oid}/coupons"),
        "fees": link(basis, f"/orders/{oid}/fees"),
        "external_id": None,
        "external_merchant_id": None,
        "tax_provider_id": "BasicTaxProvider",
        "store_default_currency_code": "",
        "store_default_to_transactional_exchange_rate": "1.0000000000",
        "custom_status": status_name,
        "customer_locale": "en",
        "external_order_id": "",
    }


def order_sort_key(basis: Basis, plan: OrderPlan, field: str) -> Any:
    if field == "customer_id":
        return plan.customer_id
    if field == "status_id":
        return plan.status
    if field == "channel_id":
        return plan.channel_id
    if field == "external_id":
        return 0
    raise KeyError(field)


CONSIGNMENT_CAP = 50
CONSIGNMENT_WARNING = {
    "message": (
        "Not all line items of this consignment are returned with this response, only 50 are included. "
        "Please use the `/v2/orders/{order_id}/products` endpoint to fetch all line items."
    )
}


def consignments(basis: Basis, plan: OrderPlan, line_items: list[Any] | None) -> dict[str, Any]:
    """The ``consignment_structure=object`` form (orderConsignment_Get in reference/orders.v2.oas2.yml).

    ``line_items`` holds the already-rendered order products (orjson Fragments) in plan order when
    ``include=consignments.line_items`` was asked; otherwise each line item is a ``{url, resource}`` link.
    At most 50 full line items are embedded per consignment, with the ``__warning__`` BigCommerce adds
    (bigcommerce/docs issue #960; not in the spec).
    """
    out: dict[str, Any] = {"pickups": [], "shipping": [], "downloads": [], "email": {"gift_certificates": []}}
    h = plan.h
    place = PLACES[(h >> 23) % len(PLACES)]
    if plan.customer_id:
        first, last, email = customer_name(basis, plan.customer_id)
    else:
        first = FIRST_NAMES[(h >> 5) % len(FIRST_NAMES)][0]
        last = LAST_NAMES[(h >> 9) % len(LAST_NAMES)][0]
        email = f"guest{plan.oid}@example.com"
    for c in plan.consignments:
        cut = line_items is not None and len(c.items) > CONSIGNMENT_CAP
        shown = c.items[:CONSIGNMENT_CAP] if line_items is not None else c.items
        if line_items is not None:
            items: list[Any] = [line_items[pos] for pos in shown]
        else:
            items = [link(basis, f"/orders/{plan.oid}/products/{plan.items[pos].op_id}") for pos in shown]
        body: dict[str, Any]
        if c.kind == "shipping":
            qty = sum(plan.items[pos].quantity for pos in c.items)
            shipped = sum(_shipped_qty(plan, pos, plan.items[pos]) for pos in c.items)
            body = {
                "id": c.cid,
                "first_name": first,
                "last_name": last,
                "company": "",
                "street_1": f"{(h >> 31) % 9000 + 1} {STREETS[(h >> 35) % len(STREETS)]}",
                "street_2": "",
                "city": place[0],
                "zip": place[2],
                "country": place[3],
                "country_iso2": place[4],
                "state": place[1],
                "email": email,
                "phone": "",
                "form_fields": [],
                "line_items": items,
                "items_total": qty,
                "items_shipped": shipped,
                "shipping_method": "Flat Rate" if (h >> 2) % 3 else "Free Shipping",
                "base_cost": 0,
                "cost_ex_tax": 0,
                "cost_inc_tax": 0,
                "cost_tax": 0,
                "cost_tax_class_id": 2,
                "base_handling_cost": 0,
                "handling_cost_ex_tax": 0,
                "handling_cost_inc_tax": 0,
                "handling_cost_tax": 0,
                "handling_cost_tax_class_id": 2,
                "shipping_zone_id": 1,
                "shipping_zone_name": place[3],
                "shipping_quotes": link(
                    basis, f"/orders/{plan.oid}/consignments/shipping/{c.cid}/shipping_quotes"
                ),
            }
        elif c.kind == "pickups":
            body = {
                "id": c.cid,
                "pickup_method_id": 1,
                "pickup_method_display_name": "Pick Up",
                "collection_instructions": "Bring your ID",
                "collection_time_description": "9am - 6pm",
                "location": {
                    "id": 1,
                    "name": "Flagship Store",
                    "code": "LOCATION-1",
                    "address_line_1": "123 Main Street",
                    "address_line_2": "Suite 101",
                    "city": "Austin",
                    "state": "Texas",
                    "postal_code": "78726",
                    "country_alpha2": "US",
                    "email": "pickup@sandbox.example.com",
                    "phone": "+1 111-111-1111",
                },
                "line_items": items,
            }
        else:
            body = {"recipient_email": email, "line_items": items}
        if cut:
            body["__warning__"] = CONSIGNMENT_WARNING
        if c.kind == "gift_certificates":
            out["email"]["gift_certificates"].append(body)
        else:
            out[c.kind].append(body)
    return out


def transaction(
    basis: Basis, plan: OrderPlan, k: int, tx_id: int, tx_version: int, total_cents: int
) -> dict[str, Any]:
    """One element of GET /v3/orders/{id}/transactions (Transaction in reference/orders.v3.yml).

    ``order_id`` is a string there, unlike everywhere else.
    """
    th = record_hash(basis.key("transactions"), tx_id, tx_version)
    gateway, method, pm_id = GATEWAYS[plan.h % len(GATEWAYS)]
    pm = _PAYMENT_METHODS[_payment_method_index(plan.h)]
    if pm == "Cash on Delivery":
        gateway, method, pm_id = "cod", "offline", "cod"
    elif pm == "Store Credit":
        gateway, method, pm_id = "storecredit", "store_credit", "storecredit"
    base_status_ = plan.status
    first_event = "purchase"
    event = first_event
    amount = total_cents
    status = "ok"
    if k > 0:
        if base_status_ in (4, 14):
            event = "refund"
            amount = total_cents if base_status_ == 4 else total_cents // 3
        elif base_status_ == 5:
            event = "void"
        else:
            event = "capture"
    elif base_status_ == 5:
        event = "authorization"
    elif base_status_ == 6:
        status = "error"
    span = max(1, plan.modified - plan.created)
    created = plan.created + min(span, 60 + k * (span // 3) + (th % 600))
    rec: dict[str, Any] = {
        "id": tx_id,
        "order_id": str(plan.oid),
        "event": event,
        "method": method,
        "amount": amount / 100,
        "currency": "USD",
        "gateway": gateway,
        "gateway_transaction_id": f"{th % 10**12:012d}" if method != "offline" else "",
        "date_created": iso_z(created),
        "test": False,
        "status": status,
        "fraud_review": (th >> 40) % 50 == 0,
        "reference_transaction_id": tx_id - 1 if k > 0 else 0,
        "offline": {"display_name": "Cash on Delivery"} if method == "offline" else None,
        "custom": None,
        "payment_method_id": pm_id,
        "payment_instrument_token": None,
        "provider_instrument_token": None,
        "provider_customer_id": None,
        "avs_result": {
            "code": "Y" if method == "credit_card" else "",
            "message": "",
            "street_match": "",
            "postal_match": "",
        },
        "cvv_result": {"code": "M" if method == "credit_card" else "", "message": ""},
        "gift_certificate": None,
        "store_credit": {"remaining_balance": round(((th >> 8) % 5000) / 100, 2)}
        if method == "store_credit"
        else None,
        "custom_provider_field_result": None,
    }
    if method == "credit_card":
        rec["credit_card"] = {
            "card_type": CARD_TYPES[(th >> 20) % len(CARD_TYPES)],
            "card_iin": f"{(th >> 24) % 900000 + 100000}",
            "card_last4": f"{(th >> 44) % 10000:04d}",
            "card_expiry_month": (th >> 50) % 12 + 1,
            "card_expiry_year": 2026 + (th >> 54) % 6,
        }
    return rec
