"""The catalog's bulk lists (issue 15): variants, metafields, price lists and their records.

A full read equals the sandbox export on a strict store too (pages capped below every list's size); an
incremental read returns exactly what changed, while the variants, which have no date, are read whole;
price list records are read list by list, every list every sync, keyed by list, variant and currency.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bigcommerce_sandbox.app import RunningSandbox
from source_bigcommerce import dates
from source_bigcommerce.streams import BY_NAME, key_of
from sync_support import assert_table_equals_export, duckdb_rows, duckdb_target, run_sync

from support import Output, expected_record, read, settle

SandboxFactory = Any
CATALOG = (
    "product_variants",
    "product_metafields",
    "variant_metafields",
    "price_lists",
    "price_list_records",
)
STRICT_CAPS = {
    # docs/streams/catalog.md, The sandbox: the page caps under --strict.
    "product_variants": 45,
    "product_metafields": 35,
    "variant_metafields": 20,
    "price_lists": 7,
}


def keyed(stream: str, records: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    key = key_of(BY_NAME[stream])
    found = {key(record): record for record in records}
    assert len(found) == len(records), f"{stream}: a record delivered twice"
    return found


def assert_equals_export(output: Output, sandbox: RunningSandbox, stream: str) -> None:
    got = keyed(stream, output.records[stream])
    expected = keyed(stream, sandbox.export(stream))
    assert sorted(got, key=str) == sorted(expected, key=str), stream
    for key, record in expected.items():
        assert got[key] == expected_record(stream, record), f"{stream} {key}"


def test_a_full_read_equals_the_export_on_a_strict_store_whose_pages_are_capped(
    sandbox_factory: SandboxFactory,
) -> None:
    sb = sandbox_factory(strict=True, size="tiny", seed=4, products=200, counts={"price_lists": 9})
    output = read(sb.config, CATALOG, mode="full_refresh")
    assert output.exit_code == 0, output.errors
    for stream, cap in STRICT_CAPS.items():
        assert len(sb.export(stream)) > cap, f"{stream} must span several capped pages"
    per_list: dict[int, int] = {}
    for record in sb.export("price_list_records"):
        per_list[record["price_list_id"]] = per_list.get(record["price_list_id"], 0) + 1
    assert max(per_list.values()) > 45, "a price list must span several capped pages of records"
    for stream in CATALOG:
        assert_equals_export(output, sb, stream)


def test_price_list_records_cost_one_request_for_each_list_that_fits_a_page(
    sandbox: RunningSandbox,
) -> None:
    lists = sandbox.export("price_lists")
    sandbox.reset_stats()
    output = read(sandbox.config, ["price_list_records"], mode="full_refresh")
    assert output.exit_code == 0, output.errors
    requests = sandbox.stats()["requests"]
    # The tiny store's lists each fit one page: one request for the lists, one per list for its records.
    assert requests["/stores/{store_hash}/v3/pricelists/{id}/records"]["total"] == len(lists)
    assert output.states["price_list_records"][-1]["stream"]["stream_state"]["date_modified"]


def test_price_list_records_keep_at_most_ten_requests_in_flight_whatever_the_connector_allows(
    sandbox_factory: SandboxFactory,
) -> None:
    # price_lists.v3.yml, Get All Price List Records: "Supports up to 10 simultaneous GET requests".
    sb = sandbox_factory(size="tiny", seed=2, products=400, counts={"price_lists": 12}, latency_ms=30)
    output = read({**sb.config, "max_concurrent_requests": 32}, ["price_list_records"], mode="full_refresh")
    assert output.exit_code == 0, output.errors
    assert len(output.records["price_list_records"]) == len(sb.export("price_list_records"))
    peak = sb.stats()["peak_concurrency"]
    assert 3 <= peak <= 10, peak


def test_an_incremental_read_returns_exactly_the_changed_catalog_records_and_the_variants_whole(
    sandbox: RunningSandbox,
) -> None:
    first = read(sandbox.config, CATALOG)
    assert first.exit_code == 0, first.errors
    time.sleep(1.1)  # mutations land in a later second than the first read's start
    results: dict[str, dict[str, list[Any]]] = {}
    for resource, update, create, delete in (
        ("product_metafields", 2, 2, 1),
        ("variant_metafields", 2, 1, 0),
        ("price_lists", 1, 1, 0),
        ("price_list_records", 3, 2, 1),
        ("product_variants", 2, 1, 0),
    ):
        for name, changes in sandbox.mutate(resource, update, create, delete).items():
            for kind, keys in changes.items():
                results.setdefault(name, {}).setdefault(kind, []).extend(keys)
    settle()
    second = read(sandbox.config, CATALOG, state=first.final_state())
    assert second.exit_code == 0, second.errors

    for stream in ("product_metafields", "variant_metafields", "price_lists", "price_list_records"):
        changed = {tuple(k) if isinstance(k, list) else k for k in results[stream]["updated"]}
        changed |= {tuple(k) if isinstance(k, list) else k for k in results[stream]["created"]}
        assert changed, stream
        got = keyed(stream, second.records[stream])
        assert set(got) == changed, stream
        export = keyed(stream, sandbox.export(stream))
        for key, record in got.items():
            assert record == expected_record(stream, export[key]), f"{stream} {key}: not its new version"
    # Variants carry no date: every sync reads them whole, edits included.
    assert_equals_export(second, sandbox, "product_variants")
    assert set(results["product_variants"]["updated"]) <= set(second.ids("product_variants"))


def test_price_list_records_of_an_unchanged_list_are_read_when_they_change(sandbox: RunningSandbox) -> None:
    # A record's change does not move its list's date_modified: every list is asked every sync.
    first = read(sandbox.config, ["price_lists", "price_list_records"])
    time.sleep(1.1)
    updated = sandbox.mutate("price_list_records", update=1)["price_list_records"]["updated"]
    settle()
    second = read(sandbox.config, ["price_lists", "price_list_records"], state=first.final_state())
    assert second.records["price_lists"] == []
    assert [keyed("price_list_records", second.records["price_list_records"])] == [
        {tuple(updated[0]): second.records["price_list_records"][0]}
    ]


def test_the_catalog_cursors_never_pass_the_read_start(sandbox: RunningSandbox) -> None:
    before = int(time.time())
    output = read(sandbox.config, CATALOG)
    for stream in CATALOG:
        stream_state = output.states[stream][-1]["stream"]["stream_state"]
        if BY_NAME[stream].incremental:
            assert dates.to_epoch(stream_state["date_modified"]) <= before + 1, stream
        else:
            assert stream_state == {}, stream


def test_duckdb_syncs_merge_changed_catalog_records_by_their_keys_composite_ones_included(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    target = duckdb_target(tmp_path)
    assert run_sync(sandbox.config, target, ",".join(CATALOG)).ok
    time.sleep(1.1)
    changed = sandbox.mutate("price_list_records", update=3, create=2)["price_list_records"]
    sandbox.mutate("product_metafields", update=2, create=1)
    sandbox.mutate("variant_metafields", update=1)
    sandbox.mutate("product_variants", update=2)
    settle()
    second = run_sync(sandbox.config, target, ",".join(CATALOG))
    assert second.ok, second.as_json()
    assert second.streams["price_list_records"].records == len(changed["updated"]) + len(changed["created"])
    # An updated record replaces its row (one row per key), a created one adds a row.
    for stream in CATALOG:
        assert_table_equals_export(duckdb_rows(target, stream), sandbox.export(stream), stream)
