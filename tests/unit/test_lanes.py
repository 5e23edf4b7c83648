"""lanes.Lanes: request slots handed out to the waiting lanes in turn, none lost to cancellation."""

from __future__ import annotations

import asyncio

from source_bigcommerce.lanes import Lanes, lane_of


def test_a_lane_is_its_endpoint_without_ids() -> None:
    assert lane_of("v2", "/orders/17/products") == "/v2/orders/{}/products"
    assert lane_of("v3", "/orders/17/transactions") == lane_of("v3", "/orders/9/transactions")
    assert lane_of("v3", "/customers") == "/v3/customers"
    assert (
        lane_of("v3", "/catalog/products/5/variants/7/metafields")
        == "/v3/catalog/products/{}/variants/{}/metafields"
    )
    assert lane_of("v2", "/orders/count") == "/v2/orders/count"


async def _served(lanes: Lanes, asked: list[str]) -> list[str]:
    """The order in which requests asked in ``asked`` order get a slot, one slot at a time."""
    served: list[str] = []
    release = asyncio.Event()

    async def one(name: str) -> None:
        async with lanes.slot(name.rstrip("0123456789")):
            served.append(name)
            await release.wait()
            release.clear()

    tasks = [asyncio.ensure_future(one(name)) for name in asked]
    while len(served) < len(asked):
        await asyncio.sleep(0)
        release.set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    return served


def test_slots_go_to_the_waiting_lanes_in_turn_and_each_lane_keeps_its_order() -> None:
    asked = ["a1", "a2", "a3", "a4", "b1", "b2", "c1"]
    served = asyncio.run(_served(Lanes(1), asked))
    # a1 took the free slot; a2 was first to wait, then each lane in turn.
    assert served == ["a1", "a2", "b1", "c1", "a3", "b2", "a4"]


def test_a_cancelled_waiter_takes_no_slot_and_one_cancelled_as_it_was_given_passes_it_on() -> None:
    async def scenario() -> None:
        lanes = Lanes(1)
        holder_done = asyncio.Event()
        got: list[str] = []
        waiters: dict[str, asyncio.Future[None]] = {}

        async def hold() -> None:
            async with lanes.slot("a"):
                await holder_done.wait()
            # The slot has just been handed to "c", which has not run yet.
            waiters["c"].cancel()

        async def want(name: str) -> None:
            async with lanes.slot(name):
                got.append(name)

        holder = asyncio.ensure_future(hold())
        await asyncio.sleep(0)
        for name in "bcd":
            waiters[name] = asyncio.ensure_future(want(name))
        await asyncio.sleep(0)
        waiters["b"].cancel()  # cancelled while waiting
        await asyncio.sleep(0)
        holder_done.set()
        await asyncio.gather(holder, *waiters.values(), return_exceptions=True)
        assert waiters["c"].cancelled()
        assert got == ["d"]
        # The slot is free again, and only once: a slot freed twice would let a second holder in beside "e".
        async with lanes.slot("e"):
            got.append("e")
            waiters["f"] = asyncio.ensure_future(want("f"))
            await asyncio.sleep(0.01)
            assert got == ["d", "e"]
        await waiters["f"]
        assert got == ["d", "e", "f"]

    asyncio.run(asyncio.wait_for(scenario(), 5))
