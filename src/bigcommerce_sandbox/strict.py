"""The stingy parts of the real API: each behind its own option, all of them at once under ``strict``.

A connector that passes against a generous server can still lose records against BigCommerce, so the
sandbox can be as stingy as BigCommerce is documented (or known) to be:

* **page caps**: a list serves fewer rows than the ``limit`` asked and numbers its pages by the size it
  served (v3 ``meta.pagination.per_page``, ``total_pages`` and ``links`` say so; a v2 list just returns
  fewer rows). BigCommerce documents one cap: products with ``include=options`` or ``modifiers`` come 10 a
  page (reference/catalog/products_catalog.v3.yml, the ``include`` parameter). The others (each
  resource's ``strict_cap`` in registry.py) are stand-ins that do not divide 250, so a reader that assumes
  the page size it asked for, or 250, drops records;
* **shuffled ties**: records that share a sort value (a ``date_modified`` second) come back in an order
  that changes from request to request, unless the request sorts by id;
* **a lagging count**: ``/v2/orders/count`` keeps giving its previous figures for a few requests after
  the store changed, as a replica would;
* **heavy pages**: a page of orders with ``include=consignments.line_items`` whose line items exceed a
  threshold is a 500; BigCommerce's status-codes page (docs/start/about/status-codes.mdx) answers a 500
  on an expensive call with "reduce ``limit``";
* **hidden archived orders**: archived orders (``is_deleted: true``) are left out of ``/v2/orders`` and
  ``/v2/orders/count`` unless the request says ``is_deleted=true``. The spec does not list that parameter
  (reference/orders.v2.oas2.yml; bigcommerce/docs PR #360 notes it as missing from the docs);
* **percent-encoded dates refused**: ``/v3/customers`` and ``/v3/channels`` (``refuse_encoded_dates`` in
  the registry) refuse a date filter whose
  value is percent-encoded (``2024-10-19T20%3A00%3A00Z``) with a 400 (bigcommerce/docs issue #620: "the
  date string must not be URI nor form encoded"); products accept them, as their spec's own examples
  encode them (products_catalog.v3.yml, ``date_last_imported:min``);
* **unknown parameters refused**: ``/v3/content/pages`` answers a parameter it does not support with a
  400 (reference/pages.v3.yml: "passing query parameters that are not supported on this endpoint");
* **rare dates filled**: order products' ``event_date`` (``format: date`` in orders.v2.oas2.yml, a date,
  not a midnight timestamp) and products' ``date_last_imported`` carry values, as some stores' do.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from bigcommerce_sandbox.registry import BY_NAME, PAGED, REGISTRY

STRICT_PAGE_CAPS: Mapping[str, int] = {r.name: r.strict_cap for r in REGISTRY if r.strict_cap is not None}
"""Each list's cap under ``--strict`` (the registry's ``strict_cap``)."""
STRICT_COUNT_LAG = 3
STRICT_HEAVY_PAGE_ITEMS = 200


@dataclass(frozen=True)
class Strictness:
    """The stingy options a sandbox runs with, resolved from its settings (see Settings.strictness)."""

    page_caps: Mapping[str, int]
    shuffle_ties: bool = False
    count_lag: int = 0
    heavy_page_items: int = 0
    hide_archived: bool = False
    reject_encoded_dates: bool = False
    reject_unknown_params: bool = False
    fill_rare_dates: bool = False

    def cap(self, resource: str, include: frozenset[str] = frozenset()) -> int | None:
        """The most rows a page of ``resource`` holds, or None for no cap beyond ``limit``. Includes with a
        documented smaller page (products with ``options``) apply whenever any cap is on."""
        cap = self.page_caps.get(resource)
        if self.page_caps:
            for name, smaller in BY_NAME[resource].include_caps.items():
                if name in include:
                    cap = smaller if cap is None else min(cap, smaller)
        return cap


def resolve_page_caps(
    strict: bool, page_cap: int | None, page_caps: Mapping[str, int] | None
) -> dict[str, int]:
    """Per-resource caps: an explicit ``page_caps`` entry, else ``page_cap`` for every list, else the
    strict table when ``strict``, else none."""
    caps: dict[str, int] = {}
    if page_cap is not None:
        caps = dict.fromkeys(PAGED, page_cap)
    elif strict:
        caps = dict(STRICT_PAGE_CAPS)
    caps.update(page_caps or {})
    return caps


class LaggingAnswers:
    """Answers that trail the store: after a change, the previous answer to the same question is given
    ``lag`` more times before it is worked out again. With ``lag`` 0 every answer is fresh."""

    def __init__(self, lag: int, keep: int = 256) -> None:
        self.lag = lag
        self.keep = keep
        self._answers: OrderedDict[Hashable, tuple[int, bytes, int]] = OrderedDict()

    def answer(self, question: Hashable, epoch: int, work_out: Callable[[], bytes]) -> bytes:
        if self.lag <= 0:
            return work_out()
        got = self._answers.get(question)
        if got is not None:
            seen_at, body, stale_given = got
            if seen_at == epoch:
                return body
            if stale_given < self.lag:
                self._answers[question] = (seen_at, body, stale_given + 1)
                return body
        body = work_out()
        self._answers[question] = (epoch, body, 0)
        self._answers.move_to_end(question)
        while len(self._answers) > self.keep:
            self._answers.popitem(last=False)
        return body
