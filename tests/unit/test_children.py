"""A parent's page hook (the orders' here) when a child endpoint fails for good: that child stops, the other goes
on; and the parameters a parent's list is asked with for its embedded children."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, cast

import pytest

from source_bigcommerce.children import ParentChildren
from source_bigcommerce.errors import TransientError
from source_bigcommerce.http import Client, NotFound, Response
from source_bigcommerce.paging import Children, Failures
from source_bigcommerce.streams import BY_NAME


class PaymentServiceDown:
    """A client whose transactions requests fail (the first at once, the rest never answer on their own)
    while order products are served."""

    def __init__(self) -> None:
        self.transactions = 0
        self.products = 0
        self.never = asyncio.Event()

    async def get(
        self,
        api: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        max_retries: int | None = None,
        breaker: Any = None,
    ) -> Response:
        if path.endswith("/transactions"):
            self.transactions += 1
            if self.transactions > 1:
                await self.never.wait()  # still retrying when the first one gives up
            raise TransientError(f"GET /{api}{path} failed after 3 attempts: HTTP 503.")
        if path.endswith("/products"):
            self.products += 1
            order_id = int(path.split("/")[2])
            if order_id == 13:
                raise NotFound("gone", 404, path)
            return Response(200, [{"id": order_id * 10, "order_id": order_id, "quantity": 1}], None)
        raise AssertionError(path)


def orders(*ids: int) -> list[dict[str, Any]]:
    return [{"id": i, "date_modified": "2024-01-01T00:00:00Z", "items_total": 1} for i in ids]


ORDER_CHILDREN = {name: BY_NAME[name] for name in ("order_products", "transactions")}


def hook(client: PaymentServiceDown) -> ParentChildren:
    return ParentChildren(
        client=cast(Client, client),
        parent=BY_NAME["orders"],
        children=ORDER_CHILDREN,
        api_url="http://127.0.0.1:1",
        store_hash="s",
        since={"order_products": 0, "transactions": 0},
        normalize={"order_products": lambda record: None, "transactions": lambda record: None},
        log=lambda level, message: None,
    )


def transactions_hook(client: Any) -> ParentChildren:
    """The orders' page hook for their transactions alone, every order's asked of ``client``."""
    return ParentChildren(
        client=cast(Client, client),
        parent=BY_NAME["orders"],
        children={"transactions": BY_NAME["transactions"]},
        api_url="http://127.0.0.1:1",
        store_hash="s",
        since={"transactions": 0},
        normalize={"transactions": lambda record: None},
        log=lambda level, message: None,
    )


async def whole(children: ParentChildren, parents: list[dict[str, Any]]) -> tuple[Children, Failures]:
    """The children of a page, slice after slice, as a walk collects them."""
    found: Children = {}
    failures: Failures = {}
    for part in children(parents):
        kids, failed = await part.children
        found.update(kids)
        failures.update(failed)
    return found, failures


def test_a_failed_child_cancels_its_pending_requests_and_later_pages_skip_it() -> None:
    async def main() -> None:
        client = PaymentServiceDown()
        children = hook(client)
        # Without cancellation the requests still "retrying" would never return: the page would hang.
        found, failures = await asyncio.wait_for(whole(children, orders(1, 2, 3, 4)), timeout=10)
        assert set(failures) == {"transactions"}
        assert "503" in failures["transactions"].message
        assert {order_id for order_id, kids in found.items() if "order_products" in kids} == {1, 2, 3, 4}
        assert all("transactions" not in kids for kids in found.values())
        asked = client.transactions

        found, failures = await whole(children, orders(5, 6, 13))
        assert client.transactions == asked, "a failed child stream must not be asked again"
        assert set(failures) == {"transactions"}, "every later page reports it failed"
        assert set(found) == {5, 6}, "order products go on; an order gone since its page (404) is skipped"

    asyncio.run(main())


def test_a_page_racing_the_failure_reports_it_too() -> None:
    async def main() -> None:
        client = PaymentServiceDown()
        children = hook(client)
        client.transactions = 1  # every transactions request of both pages hangs ...
        first = asyncio.ensure_future(whole(children, orders(1, 2)))
        second = asyncio.ensure_future(whole(children, orders(3, 4)))
        await asyncio.sleep(0)
        client.transactions = 0  # ... until the next one fails for good
        _, failures = await asyncio.wait_for(whole(children, orders(5)), timeout=10)
        assert set(failures) == {"transactions"}
        for page in (first, second):
            found, failures = await asyncio.wait_for(page, timeout=10)
            assert set(failures) == {"transactions"}, "a page whose requests were cancelled is failed too"
            assert all("transactions" not in kids for kids in found.values())

    asyncio.run(main())


@pytest.mark.parametrize("stream", ["order_products", "transactions"])
def test_children_of_an_order_older_than_the_child_cursor_are_not_asked(stream: str) -> None:
    async def main() -> None:
        client = PaymentServiceDown()
        children = hook(client)
        children.since = {stream: 2_000_000_000}
        found, failures = await whole(children, orders(1, 2))
        assert (found, failures) == ({}, {})
        assert client.transactions == client.products == 0

    asyncio.run(main())


def test_an_unreadable_date_in_embedded_line_items_fails_order_products_alone() -> None:
    from source_bigcommerce.records import normalizer

    class Served:
        async def get(self, api: str, path: str, *args: Any, **kwargs: Any) -> Response:
            return Response(200, {"data": [{"id": 1, "order_id": "7"}], "meta": {}}, None)

    item = {"id": 70, "order_id": 7, "quantity": 1, "event_date": "not a date"}
    order = {
        "id": 7,
        "date_modified": "2024-01-01T00:00:00Z",
        "items_total": 1,
        "consignments": {"shipping": [{"id": 1, "line_items": [item]}], "pickups": [], "downloads": []},
    }
    children = ParentChildren(
        client=cast(Client, Served()),
        parent=BY_NAME["orders"],
        children=ORDER_CHILDREN,
        api_url="http://127.0.0.1:1",
        store_hash="s",
        since={"order_products": 0, "transactions": 0},
        normalize={"order_products": normalizer("order_products"), "transactions": lambda record: None},
        log=lambda level, message: None,
    )
    found, failures = asyncio.run(whole(children, [order]))
    assert set(failures) == {"order_products"}
    assert "event_date" in failures["order_products"].message
    assert found[7]["transactions"], "the transactions of the order still come"


def test_the_include_lists_of_a_parents_children_are_joined_and_other_parameters_kept() -> None:
    from source_bigcommerce.children import parent_params
    from source_bigcommerce.engine import CHILDREN

    products = parent_params(list(CHILDREN["products"]))
    assert products == {"include": "images,custom_fields,options,modifiers"}
    # Both consignment children ask the same include: it is sent once, with its consignment structure.
    orders = parent_params(list(CHILDREN["orders"]))
    assert orders == {"include": "consignments.line_items", "consignment_structure": "object"}
    assert parent_params([BY_NAME["product_options"]]) == {"include": "options"}
    assert parent_params([BY_NAME["transactions"]]) == {}


def test_children_asking_their_parent_for_one_parameter_two_ways_are_a_table_error() -> None:
    import dataclasses

    from source_bigcommerce.children import parent_params
    from source_bigcommerce.streams import Embedded

    def child(name: str, params: dict[str, str]) -> Any:
        embedded = Embedded(params, name, lambda parent: [])
        return dataclasses.replace(BY_NAME["product_options"], name=name, embedded=embedded)

    assert parent_params(
        [child("a", {"include": "a", "x": "1"}), child("b", {"include": "b", "x": "1"})]
    ) == {
        "include": "a,b",
        "x": "1",
    }
    with pytest.raises(ValueError, match="b asks its parent's list for x=2, another child for x=1"):
        parent_params([child("a", {"include": "a", "x": "1"}), child("b", {"include": "b", "x": "2"})])


def test_a_pages_children_come_in_slices_each_ready_while_later_slices_still_wait() -> None:
    from source_bigcommerce.children import SLICE_PARENTS

    class HeldAfterTheFirstSlice:
        """Transactions of the first slice's orders answer at once; the others wait for ``release``."""

        def __init__(self) -> None:
            self.release = asyncio.Event()

        async def get(self, api: str, path: str, *args: Any, **kwargs: Any) -> Response:
            order_id = int(path.split("/")[2])
            if order_id > SLICE_PARENTS:
                await self.release.wait()
            return Response(200, {"data": [{"id": order_id, "order_id": order_id}], "meta": {}}, None)

    async def main() -> None:
        client = HeldAfterTheFirstSlice()
        children = transactions_hook(client)
        parts = children(orders(*range(1, 2 * SLICE_PARENTS + 11)))
        assert [part.parents for part in parts] == [SLICE_PARENTS, SLICE_PARENTS, 10]
        first, _ = await asyncio.wait_for(parts[0].children, timeout=10)
        assert sorted(first) == list(range(1, SLICE_PARENTS + 1)), "the first slice is whole"
        assert not any(part.children.done() for part in parts[1:]), "while the later ones still wait"
        client.release.set()
        later = [await asyncio.wait_for(part.children, timeout=10) for part in parts[1:]]
        assert sorted(order_id for found, _ in later for order_id in found) == list(
            range(SLICE_PARENTS + 1, 2 * SLICE_PARENTS + 11)
        )

    asyncio.run(main())


class Answers:
    """A client whose every transactions list answers ``body`` with status 200 (204 for none)."""

    def __init__(self, body: Any) -> None:
        self.body = body

    async def get(self, api: str, path: str, params: Any = None, **options: Any) -> Response:
        return Response(204 if self.body is None else 200, self.body, None)


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        ([{"id": 1, "order_id": 5}], "answered without the v3 'data' list"),  # a list, not the envelope
        ("ok", "answered without the v3 'data' list"),
        ({"data": {"id": 1}}, "answered without the v3 'data' list"),
        ({"data": [{"id": 1}], "meta": {"pagination": {"total": 1, "per_page": "abc"}}}, None),
        (None, None),  # 204: the order has none
    ],
)
def test_a_child_list_of_the_wrong_shape_fails_its_stream_and_no_answer_is_none(
    body: Any, failure: str | None
) -> None:
    # A 200 of any other shape was taken for an order without transactions: COMPLETE, the cursor past them.
    children = transactions_hook(Answers(body))
    found, failures = asyncio.run(whole(children, orders(5)))
    if failure is None:
        assert not failures
        assert len(found[5]["transactions"]) == (0 if body is None else 1)
    else:
        assert failure in failures["transactions"].message
