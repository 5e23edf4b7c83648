"""Every 2xx body the sandbox serves validates against the official spec's response schema.

The specs are read from ../shared/bigcommerce-api-specs, and the few vendored in tools/specs from there; without
the shared folder every test that needs it skips and says why, and those of vendored specs still run.
Besides validation, each record's top-level fields must be declared by the spec (or shown in its
examples), so a misspelt or invented field cannot slip through the specs' open schemas. Every test runs
against the default sandbox and the strict one (capped pages, rare dates filled, archived orders hidden).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema
import pytest
from openapi_schemas import response_schema, spec_available, specs_available, validator
from sandbox_http import Reply, concrete, get

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from bigcommerce_sandbox.registry import BY_NAME, REGISTRY, Resource
from conftest import STRICT_STORE

SHARED_ABSENT = "../shared/bigcommerce-api-specs is absent, so there is no spec to validate against"
needs_shared = pytest.mark.skipif(not specs_available(), reason=SHARED_ABSENT)


def by_spec(entries: Iterable[Resource]) -> list[Any]:
    """Parameters, one per resource, each skipped only where its own spec file is absent."""
    return [
        pytest.param(
            entry,
            id=entry.name,
            marks=pytest.mark.skipif(not spec_available(entry.spec[0]), reason=SHARED_ABSENT),
        )
        for entry in entries
    ]


# (spec file, spec path, sandbox request)
LIST_ROUTES = [
    ("customers.v3.yml", "/customers", "/v3/customers"),
    ("customers.v3.yml", "/customers", "/v3/customers?limit=250"),
    ("customers.v3.yml", "/customers", "/v3/customers?page=2&limit=7"),
    ("customers.v3.yml", "/customers", "/v3/customers?after=aWQ6Nw%3D%3D&limit=5"),
    ("customers.v3.yml", "/customers", "/v3/customers?sort=date_modified:desc"),
    ("customers.v3.yml", "/customers", "/v3/customers?include=addresses&limit=250"),
    ("orders.v2.oas2.yml", "/orders", "/v2/orders?limit=250"),
    (
        "orders.v2.oas2.yml",
        "/orders",
        "/v2/orders?limit=250&include=consignments&consignment_structure=object",
    ),
    (
        "orders.v2.oas2.yml",
        "/orders",
        "/v2/orders?limit=250&include=consignments.line_items&consignment_structure=object",
    ),
    ("orders.v2.oas2.yml", "/orders/count", "/v2/orders/count"),
    ("pages.v3.yml", "/content/pages", "/v3/content/pages"),
    ("pages.v3.yml", "/content/pages", "/v3/content/pages?include=body"),
    ("catalog/products_catalog.v3.yml", "/catalog/products", "/v3/catalog/products?limit=250"),
    ("catalog/brands_catalog.v3.yml", "/catalog/brands", "/v3/catalog/brands"),
    ("catalog/categories_catalog.v3.yml", "/catalog/categories", "/v3/catalog/categories"),
    ("catalog/category-trees_catalog.v3.yml", "/catalog/trees/categories", "/v3/catalog/trees/categories"),
    ("channels.v3.yml", "/channels", "/v3/channels"),
    ("store_information.v2.yml", "/store", "/v2/store"),
    (
        "catalog/products_catalog.v3.yml",
        "/catalog/products",
        "/v3/catalog/products?limit=250&include=variants,images,custom_fields,options,modifiers",
    ),
    ("catalog/product-variants_catalog.v3.yml", "/catalog/variants", "/v3/catalog/variants?limit=250"),
    ("catalog/products_catalog.v3.yml", "/catalog/products/metafields", "/v3/catalog/products/metafields"),
    (
        "catalog/product-variants_catalog.v3.yml",
        "/catalog/variants/metafields",
        "/v3/catalog/variants/metafields?after=aWQ6MQ%3D%3D&limit=5",
    ),
    ("price_lists.v3.yml", "/pricelists", "/v3/pricelists?limit=2&page=2"),
]

# Fields the sandbox serves that the spec shows only in an example (orderCollection_Resp) or in the
# request schemas (a product's description, the variants include=variants embeds), as the real API
# returns them. The bulk variants list's inline schema lacks four fields of productVariant_Full, which
# the same file's per-product list and examples show.
EXAMPLE_ONLY_FIELDS = {
    "/orders": {"credit_card_type", "custom_status"},
    "/orders/{order_id}": {"credit_card_type", "custom_status"},
    "/catalog/products": {"description", "variants"},
    "/catalog/variants": {"calculated_weight", "gtin", "image_url", "mpn"},
    "/catalog/categories": {"description"},
    "/catalog/trees/categories": {"description"},
}


@pytest.fixture(params=["default", "strict"])
def served(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> RunningSandbox:
    if request.param == "strict":
        return sandbox_factory(strict=True, **STRICT_STORE)
    return sandbox_factory(size="tiny", seed=1)


def _get_ok(sb: RunningSandbox, path: str) -> Reply:
    """A 200 for ``path``; on the strict sandbox a page of orders too heavy to build (a 500) is asked
    again in smaller pages, as a reader would."""
    reply = get(sb, path)
    if reply.status == 500 and sb.settings.strict and "line_items" in path:
        reply = get(sb, path.replace("limit=250", "limit=10"))
    assert reply.status == 200, (path, reply.body[:200])
    return reply


def _validate(spec: str, path: str, body: Any) -> None:
    validator(spec, path).validate(body)


def _declared(schema: dict[str, Any]) -> set[str]:
    names = set(schema.get("properties", {}))
    for key in ("allOf", "anyOf"):
        for sub in schema.get(key, []):
            names |= _declared(sub)
    return names


def _records(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, list):
        return body
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        return data
    return [body]


def _item_schema(spec: str, path: str) -> dict[str, Any]:
    schema = response_schema(spec, path)
    if schema.get("type") == "array":
        return schema["items"]  # type: ignore[no-any-return]
    data = schema.get("properties", {}).get("data")
    if data and data.get("type") == "array":
        return data["items"]  # type: ignore[no-any-return]
    return schema


def _embedded(sb: RunningSandbox, entry: Resource) -> list[dict[str, Any]]:
    """Every record of an embedded resource, from its parent's list with the include (all pages)."""
    assert entry.owned is not None
    parent = BY_NAME[entry.owned.parent]
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        body = _get_ok(sb, f"{parent.path}?limit=250&page={page}&include={entry.embed}").json()
        out.extend(child for record in body["data"] for child in record[entry.embed])
        if page >= body["meta"]["pagination"]["total_pages"]:
            return out
        page += 1


@pytest.mark.parametrize("entry", by_spec(r for r in REGISTRY if r.routes))
def test_every_registry_route_serves_what_its_spec_says(served: RunningSandbox, entry: Resource) -> None:
    """A resource added to the registry is held to its spec from the start: its first page (or object,
    or one parent's children) validates against the response schema its entry names."""
    spec, spec_path = entry.spec
    declared = _declared(_item_schema(spec, spec_path)) | EXAMPLE_ONLY_FIELDS.get(spec_path, set())
    path = concrete(served, entry)
    reply = _get_ok(served, f"{path}?limit=250" if entry.paged else path)
    body = reply.json()
    _validate(spec, spec_path, body)
    for record in _records(body):
        assert set(record) <= declared, f"undeclared fields {set(record) - declared} in {path}"


@pytest.mark.parametrize("entry", by_spec(r for r in REGISTRY if r.owned is not None and r.embed))
def test_every_resource_a_parent_list_embeds_serves_what_its_spec_says(
    served: RunningSandbox, entry: Resource
) -> None:
    """The records a parent's list carries with an include (products' images...) validate against the
    spec of the resource's own list, and declare no field it does not."""
    spec, spec_path = entry.spec
    declared = _declared(_item_schema(spec, spec_path)) | EXAMPLE_ONLY_FIELDS.get(spec_path, set())
    records = _embedded(served, entry)
    assert records
    check = validator(spec, spec_path, item=True)
    for record in records:
        check.validate(record)
        assert set(record) <= declared, f"undeclared fields {set(record) - declared} in {entry.name}"


@needs_shared
@pytest.mark.parametrize(("spec", "path", "request_path"), LIST_ROUTES)
def test_list_and_object_routes_match_the_spec(
    served: RunningSandbox, spec: str, path: str, request_path: str
) -> None:
    body = _get_ok(served, request_path).json()
    _validate(spec, path, body)
    if path == "/orders/count":
        return
    declared = _declared(_item_schema(spec, path)) | EXAMPLE_ONLY_FIELDS.get(path, set())
    for record in _records(body):
        assert set(record) <= declared, f"undeclared fields {set(record) - declared} in {request_path}"


@needs_shared
def test_every_order_and_its_products_and_transactions_match_the_spec(served: RunningSandbox) -> None:
    seen_products = seen_transactions = 0
    for order in served.export("orders"):
        oid = order["id"]
        for query in ("", "?include=consignments.line_items&consignment_structure=object"):
            reply = get(served, f"/v2/orders/{oid}{query}")
            assert reply.status == 200
            _validate("orders.v2.oas2.yml", "/orders/{order_id}", reply.json())
        products = get(served, f"/v2/orders/{oid}/products?limit=250")
        if products.status == 200:
            _validate("orders.v2.oas2.yml", "/orders/{order_id}/products", products.json())
            seen_products += 1
        transactions = get(served, f"/v3/orders/{oid}/transactions")
        if transactions.status == 200:
            body = transactions.json()
            _validate("orders.v3.yml", "/orders/{order_id}/transactions", body)
            declared = _declared(_item_schema("orders.v3.yml", "/orders/{order_id}/transactions"))
            assert all(set(t) <= declared for t in body["data"])
            seen_transactions += 1
    assert seen_products > 10
    assert seen_transactions > 10


@pytest.mark.parametrize("entry", by_spec(r for r in REGISTRY if r.exported))
def test_exported_records_match_the_spec_item_schema(served: RunningSandbox, entry: Resource) -> None:
    records = served.export(entry.name)
    assert records
    check = validator(*entry.spec, item=True)
    for record in records:
        check.validate(record)


@needs_shared
def test_the_schema_converter_accepts_the_specs_own_examples() -> None:
    """A sanity check of openapi_schemas: the spec's example order list and store object validate."""
    import openapi_schemas

    doc = openapi_schemas._load("orders.v2.oas2.yml")
    example = doc["components"]["responses"]["orderCollection_Resp"]["content"]["application/json"][
        "examples"
    ]
    _validate("orders.v2.oas2.yml", "/orders", example["response"]["value"])
    store_doc = openapi_schemas._load("store_information.v2.yml")
    store_example = store_doc["paths"]["/store"]["get"]["responses"]["200"]["content"]["application/json"]
    _validate("store_information.v2.yml", "/store", store_example["examples"]["response"]["value"])
    with pytest.raises(jsonschema.ValidationError):
        _validate("orders.v2.oas2.yml", "/orders", [{"id": "not an integer"}])


MUTABLE = [(r, *r.spec) for r in REGISTRY if r.exported and r.kind != "object" and r.embedded is None]


@needs_shared
def test_mutated_records_still_match_the_spec(served: RunningSandbox) -> None:
    for entry, _spec, _path in MUTABLE:
        served.mutate(
            entry.name,
            update=3 * entry.updates,
            create=2 * entry.creates,
            delete=int(entry.creates and entry.deletes != "never"),
        )
    served.mutate("orders", archive=2, bump_date_modified=False)
    served.mutate("store", update=1)
    for entry, spec, path in MUTABLE:
        check = validator(spec, path, item=True)
        for record in served.export(entry.name):
            check.validate(record)
    validator("store_information.v2.yml", "/store").validate(served.export("store")[0])
    for query in ("", "&is_deleted=true"):
        _validate(
            "orders.v2.oas2.yml",
            "/orders",
            _get_ok(
                served,
                f"/v2/orders?limit=250&include=consignments.line_items&consignment_structure=object{query}",
            ).json(),
        )
    _validate(
        "catalog/category-trees_catalog.v3.yml",
        "/catalog/trees/categories",
        get(served, "/v3/catalog/trees/categories").json(),
    )
