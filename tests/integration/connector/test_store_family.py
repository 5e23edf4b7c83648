"""The store family's top-level lists (customers, marketing, store settings; docs/streams/store.md) against the
sandbox over real HTTP: a full read equals the export on the default and the strict sandbox, an incremental
read returns exactly the changes, v2 lists end only at their empty page, and what is read fits the schemas.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jsonschema
import pytest
from airbyte_protocol.models import AirbyteMessage

from bigcommerce_sandbox.app import RunningSandbox
from conftest import STRICT_STORE
from source_bigcommerce.streams import BY_NAME, schema

from support import (
    INCREMENTAL,
    STORE_FAMILY,
    STORE_INCREMENTAL,
    Output,
    by_id,
    by_key,
    expected_record,
    read,
    settle,
)

SandboxFactory = Any
SANDBOXES = {"default": {"size": "tiny", "seed": 4}, "strict": {"strict": True, **STRICT_STORE}}


def test_the_family_is_in_the_streams_table_and_its_incremental_lists_are_those_with_a_window() -> None:
    assert all(name in BY_NAME for name in STORE_FAMILY)
    assert set(STORE_INCREMENTAL) == {name for name in STORE_FAMILY if BY_NAME[name].window is not None}
    assert set(STORE_INCREMENTAL) <= set(INCREMENTAL)


def assert_equals_export(output: Output, sandbox: RunningSandbox, streams: tuple[str, ...]) -> None:
    for stream in streams:
        export = sandbox.export(stream)
        assert export, f"the store should hold some {stream}"
        got = by_key(stream, output.records[stream])
        assert len(got) == len(output.records[stream]), f"{stream} delivered a record twice"
        want = by_key(stream, export)
        assert sorted(got) == sorted(want), stream
        for key, record in want.items():
            assert got[key] == expected_record(stream, record), f"{stream} {key}"


@pytest.mark.parametrize("store", SANDBOXES)
def test_a_full_read_of_each_store_list_equals_the_export_and_fits_its_schema(
    sandbox_factory: SandboxFactory, store: str
) -> None:
    sandbox = sandbox_factory(**SANDBOXES[store])
    output = read(sandbox.config, STORE_FAMILY, mode="full_refresh")
    assert output.exit_code == 0, output.errors
    assert_equals_export(output, sandbox, STORE_FAMILY)
    validators = {stream: jsonschema.Draft7Validator(schema(stream)) for stream in STORE_FAMILY}
    for message in output.messages:
        AirbyteMessage.model_validate(message)
        if message["type"] == "RECORD":
            validators[message["record"]["stream"]].validate(message["record"]["data"])
    for stream in STORE_FAMILY:
        assert output.statuses[stream][-1] == "COMPLETE", stream


@pytest.mark.parametrize("store", SANDBOXES)
def test_an_incremental_read_returns_exactly_the_records_changed_since_the_last_one(
    sandbox_factory: SandboxFactory, store: str
) -> None:
    sandbox = sandbox_factory(**SANDBOXES[store])
    first = read(sandbox.config, STORE_FAMILY)
    assert first.exit_code == 0, first.errors
    assert_equals_export(first, sandbox, STORE_FAMILY)
    time.sleep(1.1)  # the changes land in a later second than the first read's start
    changed: dict[str, set[int]] = {}
    for stream in STORE_INCREMENTAL:
        result = sandbox.mutate(stream, update=2, create=2, delete=1)
        for resource, kinds in result.items():
            found = changed.setdefault(resource, set())
            found |= set(kinds.get("updated", ())) | set(kinds.get("created", ()))
            found -= set(kinds.get("deleted", ()))
    settle()
    second = read(sandbox.config, STORE_FAMILY, state=first.final_state())
    assert second.exit_code == 0, second.errors
    for stream in STORE_INCREMENTAL:
        export = by_id(sandbox.export(stream))
        # A deleted attribute takes its values along (docs/streams/store.md): they are no change to read.
        expected = {ident for ident in changed[stream] if ident in export}
        assert expected, f"the mutations should have changed some {stream}"
        got = second.ids(stream)
        assert len(got) == len(set(got)), f"{stream} delivered a record twice"
        assert set(got) == expected, stream
        for record in second.records[stream]:
            assert record == expected_record(stream, export[record["id"]]), f"{stream} {record['id']}"
        cursor = second.states[stream][-1]["stream"]["stream_state"]["date_modified"]
        assert cursor >= first.states[stream][-1]["stream"]["stream_state"]["date_modified"]
    # The full-refresh lists are read whole again, deletions included.
    assert_equals_export(second, sandbox, tuple(s for s in STORE_FAMILY if s not in STORE_INCREMENTAL))


def test_dates_of_every_spelling_arrive_as_rfc3339_utc(sandbox: RunningSandbox) -> None:
    # customer groups: '2023-07-17 06:30:41' (customers.v2.yml); gift certificates: Unix seconds in a string
    # (marketing.v2.yml); coupons and currencies: RFC 2822.
    output = read(sandbox.config, ("customer_groups", "gift_certificates", "coupons", "currencies"))
    assert output.exit_code == 0, output.errors
    raw = {stream: by_id(sandbox.export(stream)) for stream in ("customer_groups", "gift_certificates")}
    for group in output.records["customer_groups"]:
        assert " " in raw["customer_groups"][group["id"]]["date_modified"]
        assert (
            group["date_modified"]
            == raw["customer_groups"][group["id"]]["date_modified"].replace(" ", "T") + "Z"
        )
    expiring = [c for c in output.records["gift_certificates"] if c["expiry_date"] is not None]
    assert 0 < len(expiring) < len(output.records["gift_certificates"]), "both kinds expected"
    for certificate in output.records["gift_certificates"]:
        sent = raw["gift_certificates"][certificate["id"]]["purchase_date"]
        assert sent.isdigit()
        assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sent))) == certificate["purchase_date"]


def test_v2_lists_end_at_their_empty_page_and_the_coupons_are_walked_by_min_id(
    sandbox_factory: SandboxFactory,
) -> None:
    # Pages capped at 7 (v2 says nothing of it: the rows are just fewer than asked for).
    sandbox = sandbox_factory(
        size="tiny", seed=4, page_caps={"coupons": 7, "currencies": 3, "tax_classes": 3}
    )
    coupons = len(sandbox.export("coupons"))
    currencies = len(sandbox.export("currencies"))
    tax_classes = len(sandbox.export("tax_classes"))
    assert coupons > 7
    assert currencies > 3
    assert tax_classes > 3
    output = read(sandbox.config, ("coupons", "currencies", "tax_classes"), mode="full_refresh")
    assert output.exit_code == 0, output.errors
    assert len(output.records["coupons"]) == coupons
    assert len(output.records["currencies"]) == currencies
    assert len(output.records["tax_classes"]) == tax_classes
    requests = sandbox.stats()["requests"]
    # One request fixes the sync's start (the first list selected, coupons); then every page and the empty
    # one: by min_id for coupons, twice by page number for currencies and tax classes, which have no id filter.
    assert requests["/stores/{store_hash}/v2/coupons"]["total"] == 1 + -(-coupons // 7) + 1
    assert requests["/stores/{store_hash}/v2/currencies"]["total"] == 2 * (-(-currencies // 3) + 1)
    assert requests["/stores/{store_hash}/v2/tax_classes"]["total"] == 2 * (-(-tax_classes // 3) + 1)


def test_a_record_deleted_from_a_page_already_read_shifts_none_past_a_v2_page_walk(
    sandbox_factory: SandboxFactory,
) -> None:
    # currencies has no total and no id filter (reference/currencies.v2.yml): pages of 3 here, [1, 2, 3] and
    # [4]. Currency 2 goes while page 2 is held back, so page 2 of the new list ([1, 3, 4]) is empty: one walk
    # would end without currency 4. The walk repeats until two walks list the same currencies.
    sandbox = sandbox_factory(
        size="tiny", seed=2, page_caps={"currencies": 3}, faults="slow:3000 n=3 /v2/currencies"
    )
    route = "/stores/{store_hash}/v2/currencies"
    assert [r["id"] for r in sandbox.export("currencies")] == [1, 2, 3, 4]
    deleted: list[int] = []

    def delete_once_page_one_is_served() -> None:
        # Stats count answered requests: once the sync's start and page 1 are, page 2 (request 3) is held
        # back for 3 s, and its answer comes from the store as it is then.
        while sandbox.stats()["requests"].get(route, {}).get("total", 0) < 2:
            time.sleep(0.02)
        deleted.extend(sandbox.mutate("currencies", delete=1)["currencies"]["deleted"])

    deleter = threading.Thread(target=delete_once_page_one_is_served)
    deleter.start()
    output = read(sandbox.config, ("currencies",), mode="full_refresh")
    deleter.join()
    assert output.exit_code == 0, output.errors
    assert deleted == [2], "the seed deletes a currency of page 1"
    assert sorted(output.ids("currencies")) == [1, 2, 3, 4]
    # The start, then three walks of a page and the empty one: [1, 2, 3], [1, 3, 4] and [1, 3, 4] again.
    assert sandbox.stats()["requests"][route] == {"total": 1 + 3 * 2, "by_status": {"200": 4, "204": 3}}
