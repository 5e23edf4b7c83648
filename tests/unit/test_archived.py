"""The orders family's summary of archived orders: from two summaries, exactly which orders are new."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from source_bigcommerce.state import ARCHIVE_BUCKETS, Archived

ids = st.sets(st.integers(min_value=1, max_value=10**9), max_size=300)


@given(before=ids, added=ids)
def test_orders_archived_one_to_a_bucket_are_found_exactly_and_none_is_ever_missed(
    before: set[int], added: set[int]
) -> None:
    added -= before
    now = before | added
    news = Archived.of(before).news(Archived.of(now), now)
    assert added <= news, "a newly archived order must never be missed"
    crowded = {
        i % ARCHIVE_BUCKETS
        for i in added
        if sum(j % ARCHIVE_BUCKETS == i % ARCHIVE_BUCKETS for j in added) > 1
    }
    # Only a bucket that gained two or more gives back its older orders too.
    assert {i for i in news - added if i % ARCHIVE_BUCKETS not in crowded} == set()


@given(before=ids, added=ids, restored=st.data())
def test_no_newly_archived_order_is_missed_when_others_were_restored_meanwhile(
    before: set[int], added: set[int], restored: st.DataObject
) -> None:
    added -= before
    gone = restored.draw(st.sets(st.sampled_from(sorted(before)))) if before else set()
    now = (before - gone) | added
    assert added <= Archived.of(before).news(Archived.of(now), now)


def test_count_and_sum_alone_cannot_fool_the_summary_where_orders_were_restored() -> None:
    # All in bucket 0. 256 restored, 64 and 320 archived: one more order, the sum grown by 128, an old id.
    assert Archived.of({128, 256}).news(Archived.of({128, 64, 320}), {128, 64, 320}) == {128, 64, 320}
    # 128 and 256 restored, 64 and 320 archived: as many orders as before, and the same sum.
    assert Archived.of({128, 256}).news(Archived.of({64, 320}), {64, 320}) == {64, 320}


def test_one_newly_archived_order_is_found_among_many_old_ones() -> None:
    old = set(range(1, 5000, 7))
    before, now = Archived.of(old), Archived.of(old | {4242})
    assert before.news(now, old | {4242}) == {4242}


def test_a_restored_order_gives_back_its_whole_bucket_rather_than_miss_one_archived_with_it() -> None:
    # 3 restored and 67 archived (the same bucket): the count and the bucket's size did not move.
    assert Archived.of({3, 10}).news(Archived.of({67, 10}), {67, 10}) == {67}
    assert Archived.of({3, 131}).news(Archived.of({67, 131}), {67, 131}) == {67, 131}


def test_the_summary_survives_the_state_file_and_a_damaged_one_reads_as_none() -> None:
    summary = Archived.of({1, 65, 200})
    assert Archived.from_state(summary.to_state()) == summary
    assert [row[:3] for row in summary.to_state()["buckets"]] == [[1, 2, 66], [8, 1, 200]]
    assert summary.count == 3
    # A summary without the mixed sum (written before it) reads as none: every archived order comes once more.
    for damaged in (
        None,
        3,
        {"buckets": "[]"},
        {"buckets": [[1, 2, 66]]},
        {"buckets": [[1, 2, 66, "3"]]},
        {},
    ):
        assert Archived.from_state(damaged) is None
