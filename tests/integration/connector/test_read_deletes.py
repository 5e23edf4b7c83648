"""``read`` with ``emit_deletes``: deleted ids as records holding the key and ``_ab_cdc_deleted_at``, archived
orders carrying it, the ids known kept in the state; discover declares the field only when asked to."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from bigcommerce_sandbox.app import RunningSandbox, SandboxFactory
from source_bigcommerce import catalog
from source_bigcommerce.config import parse_config
from source_bigcommerce.deletes import (
    CDC_DELETED_AT,
    decode_ids,
    encode_ids,
    gone_from_known,
    listed,
    store_ids,
)
from source_bigcommerce.http import Client
from source_bigcommerce.state import KNOWN_IDS
from source_bigcommerce.streams import BY_NAME, STREAMS
from source_bigcommerce.wiring import with_client

from support import read, settle

TOLD = tuple(spec.name for spec in STREAMS if listed(spec))
"""The streams whose deletes a read can see: listed by id (customers, products, channels, the metafields, price
lists, ...)."""


def deletes_on(sb: RunningSandbox) -> dict[str, Any]:
    return {**sb.config, "emit_deletes": True}


def test_discover_declares_the_deletes_field_only_with_the_option() -> None:
    def declared(emit: bool) -> set[str]:
        streams = catalog.discover(emit_deletes=emit)["streams"]
        return {s["name"] for s in streams if CDC_DELETED_AT in s["json_schema"]["properties"]}

    assert declared(False) == set()
    assert declared(True) == {*TOLD, "orders"}


def test_known_ids_survive_their_encoding() -> None:
    ids = {1, 2, 3, 7, 1_000_000, 2**40}
    assert decode_ids(encode_ids(ids)) == ids
    assert decode_ids(encode_ids(set())) == set()
    assert decode_ids("not base64 !") is None
    assert decode_ids(None) is None


def test_the_next_read_sends_deleted_ids_and_archived_orders_with_the_deletes_field(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(size="tiny", seed=11)
    first = read(deletes_on(sb))
    assert first.exit_code == 0, first.errors
    for name in ("customers", "products"):
        known = decode_ids(first.states[name][-1]["stream"]["stream_state"][KNOWN_IDS])
        assert known == {record["id"] for record in sb.export(name)}, name
    gone = {name: set(sb.mutate(name, delete=2)[name]["deleted"]) for name in ("customers", "products")}
    archived = set(sb.mutate("orders", archive=2)["orders"]["archived"])

    second = read(deletes_on(sb), state=first.final_state())
    assert second.exit_code == 0, second.errors
    for name, ids in gone.items():
        deleted = [r for r in second.records[name] if r.get(CDC_DELETED_AT) is not None]
        assert {r["id"] for r in deleted} == ids, name
        # The cursor at the deletion too, so that the delete is its key's latest version.
        assert all(
            r == {"id": r["id"], CDC_DELETED_AT: r[CDC_DELETED_AT], "date_modified": r[CDC_DELETED_AT]}
            for r in deleted
        )
        assert all(r["date_modified"] > max(e["date_modified"] for e in first.records[name]) for r in deleted)
        known = decode_ids(second.states[name][-1]["stream"]["stream_state"][KNOWN_IDS])
        assert known == {record["id"] for record in sb.export(name)}, name
    orders = {r["id"]: r for r in second.records["orders"]}
    assert archived <= set(orders)
    assert all(orders[i][CDC_DELETED_AT] == orders[i]["date_modified"] for i in archived)
    assert all(CDC_DELETED_AT not in r for r in second.records["orders"] if r["id"] not in archived)

    third = read(deletes_on(sb), TOLD, state=second.final_state())
    assert third.exit_code == 0, third.errors
    assert not any(r.get(CDC_DELETED_AT) for name in TOLD for r in third.records[name])


def test_without_the_option_read_sends_no_deletes_and_keeps_no_ids(sandbox: RunningSandbox) -> None:
    first = read(sandbox.config, ("customers", "orders"))
    sandbox.mutate("customers", delete=2)
    sandbox.mutate("orders", archive=2)
    second = read(sandbox.config, ("customers", "orders"), state=first.final_state())
    assert second.exit_code == 0
    assert not any(CDC_DELETED_AT in r for name in ("customers", "orders") for r in second.records[name])
    assert all(KNOWN_IDS not in s["stream"]["stream_state"] for s in second.states["customers"])


def test_a_state_without_known_ids_takes_the_ids_listed_and_sends_no_deletes(sandbox: RunningSandbox) -> None:
    first = read(sandbox.config, ("customers",))
    sandbox.mutate("customers", delete=1)
    second = read(deletes_on(sandbox), ("customers",), state=first.final_state())
    assert second.exit_code == 0
    assert not any(CDC_DELETED_AT in r for r in second.records["customers"])
    known = decode_ids(second.states["customers"][-1]["stream"]["stream_state"][KNOWN_IDS])
    assert known == {record["id"] for record in sandbox.export("customers")}


def test_a_later_start_date_sends_no_deletes_for_the_records_before_it(
    sandbox_factory: SandboxFactory,
) -> None:
    # The known ids were listed from the first start_date; listed again from a later one, those modified
    # before it are missing from the listing, not from the store: 886 of them were sent as deleted.
    sb = sandbox_factory(size="tiny", seed=12)
    first = read(deletes_on(sb), ("customers",))
    assert first.exit_code == 0, first.errors
    modified = sorted(record["date_modified"] for record in sb.export("customers"))
    later = {**deletes_on(sb), "start_date": modified[len(modified) // 2][:10]}
    second = read(later, ("customers",), state=first.final_state())
    assert second.exit_code == 0, second.errors
    assert not any(CDC_DELETED_AT in r for r in second.records["customers"])

    [gone] = sb.mutate("customers", delete=1)["customers"]["deleted"]
    third = read(later, ("customers",), state=second.final_state())
    assert third.exit_code == 0, third.errors
    deleted = {r["id"] for r in third.records["customers"] if CDC_DELETED_AT in r}
    in_range = any(
        r["date_modified"][:10] >= later["start_date"] for r in first.records["customers"] if r["id"] == gone
    )
    assert deleted == ({gone} if in_range else set())


def test_the_ids_a_read_delivered_before_it_stopped_are_known_and_a_later_delete_of_one_is_sent(
    sandbox_factory: SandboxFactory,
) -> None:
    # A read stopped after its second STATE (a killed attempt: the platform keeps that STATE), which carries the
    # ids known when it started, not the five customers it delivered. The next read took the ids it listed
    # minus those gone as known, without those five: from then on each count was one short, which one deleted
    # customer made up for, and that deletion was never sent.
    sb = sandbox_factory(size="tiny", seed=11, page_caps={"customers": 5})
    first = read(deletes_on(sb), ("customers",))
    assert first.exit_code == 0, first.errors
    for _ in range(3):
        time.sleep(1.1)  # five customers per second: one STATE of the next read each
        sb.mutate("customers", create=5)
    settle()
    stopped = read(deletes_on(sb), ("customers",), state=first.final_state()).states["customers"][1]
    second = read(deletes_on(sb), ("customers",), state=[{"type": "STATE", "state": stopped}])
    assert second.exit_code == 0, second.errors
    known = decode_ids(second.states["customers"][-1]["stream"]["stream_state"][KNOWN_IDS])
    assert known == {record["id"] for record in sb.export("customers")}

    [gone] = sb.mutate("customers", delete=1)["customers"]["deleted"]
    third = read(deletes_on(sb), ("customers",), state=second.final_state())
    assert third.exit_code == 0, third.errors
    assert {r["id"] for r in third.records["customers"] if CDC_DELETED_AT in r} == {gone}


def test_a_record_a_stopped_first_read_delivered_and_the_store_deleted_is_sent_as_deleted(
    sandbox_factory: SandboxFactory,
) -> None:
    # Found by a soak (a read killed while the store changed): the first read's STATEs carried no ids until
    # its end, so one killed before it left none; the next read took the ids it listed as known, and the
    # customers deleted in between, already delivered, stayed in the destination for good.
    sb = sandbox_factory(size="tiny", seed=11)
    first = read(deletes_on(sb), ("customers",))
    assert first.exit_code == 0, first.errors
    stopped = first.states["customers"][-2]  # the last checkpoint before the deletes are looked for
    gone = set(sb.mutate("customers", delete=3)["customers"]["deleted"])
    settle()
    second = read(deletes_on(sb), ("customers",), state=[{"type": "STATE", "state": stopped}])
    assert second.exit_code == 0, second.errors
    assert {r["id"] for r in second.records["customers"] if CDC_DELETED_AT in r} == gone


def test_a_record_created_and_deleted_around_a_stopped_read_that_delivered_it_is_sent_as_deleted(
    sandbox_factory: SandboxFactory,
) -> None:
    # The same for a later read: its STATEs carried the ids known when it started, not the customer it
    # delivered, which the store then deleted with all the others; that one deletion was never sent.
    sb = sandbox_factory(size="tiny", seed=11)
    first = read(deletes_on(sb), ("customers",))
    assert first.exit_code == 0, first.errors
    time.sleep(1.1)  # created in a later second than the first read's start
    [created] = sb.mutate("customers", create=1)["customers"]["created"]
    settle()
    run = read(deletes_on(sb), ("customers",), state=first.final_state())
    assert created in run.ids("customers")
    stopped = run.states["customers"][-2]
    gone = set(sb.mutate("customers", delete=len(sb.export("customers")))["customers"]["deleted"])
    assert created in gone
    settle()
    second = read(deletes_on(sb), ("customers",), state=[{"type": "STATE", "state": stopped}])
    assert second.exit_code == 0, second.errors
    assert {r["id"] for r in second.records["customers"] if CDC_DELETED_AT in r} == gone


def test_a_customer_the_listing_shifted_past_is_not_sent_as_deleted(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As tests/e2e/test_deletes.py::test_a_customer_the_listing_shifted_past_is_not_marked_while_the_deleted_
    # one_is, for the Airbyte face: the customer that fell between two pages was sent as deleted.
    sb = sandbox_factory(size="tiny", seed=12, page_caps={"customers": 5})
    known = {record["id"] for record in sb.export("customers")}
    gone = set(sb.mutate("customers", delete=1)["customers"]["deleted"])  # the counts differ: ids are listed
    real = Client.get
    during: dict[str, Any] = {}

    async def get(self: Client, api: str, path: str, params: Any = None, **options: Any) -> Any:
        if path == "/customers" and (params or {}).get("page") == "6" and not during:
            during["deleted"] = sb.mutate("customers", delete=1)["customers"]["deleted"]
            sb.mutate("customers", create=1)
        return await real(self, api, path, params, **options)

    monkeypatch.setattr(Client, "get", get)
    config = parse_config(dict(sb.config))
    start_date = int(config.start.timestamp())

    async def work(client: Client) -> tuple[set[int], set[int]]:
        spec = BY_NAME["customers"]
        return await gone_from_known(
            client, spec, known, set(), start_date=start_date, start=2**31, lookahead=1
        )

    told, _ = asyncio.run(with_client(config, lambda level, message: None, work))
    assert during["deleted"] == [23], "a customer of page 5, read before it went"
    assert told == gone


def test_an_id_listing_whose_heavy_first_page_came_in_pieces_the_store_changed_between_asks_it_again(
    sandbox_factory: SandboxFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As tests/integration/connector/test_faults.py::test_a_heavy_first_page_whose_pieces_disagree_on_the_total_
    # starts_the_read_over, for the listing of ids that finds deletes: it failed with "answered without
    # meta.pagination.total", and nothing was marked or told.
    sb = sandbox_factory(size="tiny", seed=12, faults="500 n=1 /v3/customers")
    real = Client.get
    created: list[int] = []

    async def get(self: Client, api: str, path: str, params: Any = None, **options: Any) -> Any:
        if path == "/customers" and dict(params or {}).get("page") == "2" and not created:
            created.extend(sb.mutate("customers", create=1)["customers"]["created"])
        return await real(self, api, path, params, **options)

    monkeypatch.setattr(Client, "get", get)
    config = parse_config(dict(sb.config))

    async def work(client: Client) -> set[int]:
        return await store_ids(client, BY_NAME["customers"], 1, since=int(config.start.timestamp()))

    found = asyncio.run(with_client(config, lambda level, message: None, work))
    assert created
    assert found == {record["id"] for record in sb.export("customers")}
