"""The children of a parent's page, fetched with the fewest requests the table allows (streams.Fetch).

Embedded children are taken out of the parent records the page already holds (streams.Embedded: an
order's products and shipping addresses ride in its consignments); where they cannot be trusted whole they
are read per parent instead. Per-parent children have no bulk endpoint: their list is asked once per parent
of the page, all parents at once (the client's concurrency limit and the rate governor pace them). An empty
list is 204 (v2, and transactions on v3, reference/orders.v3.yml); a list longer than a page is followed by
``page`` (v3: to ``meta.pagination.total``, and on while ``links.next`` names another page; v2: to a page shorter than the size served, or the empty page)
or by ``after=<last id>`` (streams.StreamSpec.after_id). Each page must bring records not read yet, else
the API ignores the paging parameter and the stream fails. A v2 list has no total, and BigCommerce may serve
fewer records a page than asked: a short page ends it when the parent's own figures say it is all
(streams.Embedded.complete), or else when it cannot be a page the server cut (:data:`SMALLEST_CUT`, and
shorter than a page the endpoint has served). Most parents then cost one request, the least the API
allows.

A parent that disappears between its page and its children's request (404) is skipped with a log line (for
a per-parent single object, 404 means the parent has none); any other failure fails that child stream only,
and the parent and the other children keep going. A child stream that has failed is asked nothing more: its
requests still queued are cancelled and later pages skip it. While one of its requests retries, the others
wait for its verdict (:class:`http.Breaker`), so a payment service that is down (503 on every transactions
request) costs one request's retries and the requests already in flight, not retries for every order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from source_bigcommerce.errors import ConnectorError
from source_bigcommerce.http import Breaker, Client, Log, NotFound
from source_bigcommerce.paging import (
    Children,
    Failures,
    Normalize,
    Record,
    Slice,
    UnexpectedResponse,
    envelope_part,
    ignored,
    modified_at,
)
from source_bigcommerce.streams import StreamSpec, key_of

_PLACEHOLDER = re.compile(r"\{[^}]*\}")
SLICE_PARENTS = 50
"""Parents whose children are delivered together, with the state that covers them. A page's children are all
asked for at once, but a page of 250 orders costs 1,000 requests (transactions, shipments, coupons, taxes):
over 3 minutes of a Standard plan's quota (150 requests per 30 s), during which the orders family could not
checkpoint, nor a sync commit it; a slice of 50 costs 40 s."""
SMALLEST_CUT = 10
"""The smallest page BigCommerce is known to cut a list to (products with options or modifiers,
reference/catalog/products_catalog.v3.yml): a shorter page of a v2 per-parent list is its end."""


def parent_params(children: list[StreamSpec]) -> dict[str, str]:
    """The query parameters the parent's list needs for its embedded ``children``: their ``include`` lists
    joined into one (``include=images,options``; each value once, in the table's order), any other parameter
    as the children give it, which must then agree."""
    params: dict[str, str] = {}
    includes: dict[str, None] = {}
    for spec in children:
        if spec.embedded is None:
            continue
        for name, value in spec.embedded.params.items():
            if name == "include":
                includes.update(dict.fromkeys(part for part in value.split(",") if part))
            elif params.setdefault(name, value) != value:
                raise ValueError(
                    f"{spec.name} asks its parent's list for {name}={value}, another child for "
                    f"{name}={params[name]}"
                )
    if includes:
        params["include"] = ",".join(includes)
    return params


@dataclass
class ParentChildren:
    """The page hook of a parent's walk (see paging.PageHook), for its selected children."""

    client: Client
    api_url: str
    store_hash: str
    parent: StreamSpec
    children: Mapping[str, StreamSpec]
    since: Mapping[str, int]
    """Child stream -> first ``date_modified`` second of the parents whose children are read."""
    normalize: Mapping[str, Normalize]
    log: Log
    failed: dict[str, ConnectorError] = field(default_factory=dict)
    """Child streams that have failed, and why: every later page reports them failed too."""
    breakers: dict[str, Breaker] = field(default_factory=dict)
    """One per child stream: its requests retry one at a time and give up together (http.Breaker)."""
    served: dict[str, int] = field(default_factory=dict)
    """The largest page each v2 child stream has been served: a shorter page was not cut by the server."""
    _pending: dict[str, set[asyncio.Future[list[Record]]]] = field(default_factory=dict)
    _every: bool = False

    @contextlib.contextmanager
    def every_parent(self) -> Iterator[None]:
        """Within the block, the children of every parent are read, whatever ``since`` says."""
        self._every = True
        try:
            yield
        finally:
            self._every = False

    def _start(self, stream: str, work: Coroutine[Any, Any, list[Record]]) -> asyncio.Future[list[Record]]:
        job = asyncio.ensure_future(work)
        pending = self._pending.setdefault(stream, set())
        pending.add(job)
        job.add_done_callback(lambda done: self._finished(stream, done))
        return job

    def _finished(self, stream: str, job: asyncio.Future[list[Record]]) -> None:
        self._pending[stream].discard(job)
        if job.cancelled():
            return
        error = job.exception()
        if isinstance(error, ConnectorError) and not isinstance(error, NotFound):
            self.failed.setdefault(stream, error)
            for other in self._pending[stream]:
                other.cancel()

    def _restore(self, parent: Record, carried_in: str) -> None:
        """Give the parent's field the shape its list has without the include: v2 links to the resource
        (``{"url", "resource"}``), v3 leaves the field out."""
        if self.parent.api == "v3":
            parent.pop(carried_in, None)
            return
        resource = f"{self.parent.path}/{parent['id']}/{carried_in}"
        url = f"{self.api_url}/stores/{self.store_hash}/{self.parent.api}{resource}"
        parent[carried_in] = {"url": url, "resource": resource}

    def _adopt(self, spec: StreamSpec, parent_id: int, records: list[Record]) -> list[Record]:
        normalize = self.normalize[spec.name]
        for record in records:
            normalize(record)  # first: it refuses a record that is not an object
            if spec.parent_key is not None:
                record.setdefault(spec.parent_key, parent_id)
        return records

    def __call__(self, parents: list[Record]) -> list[Slice]:
        """Start fetching the children of every parent of a page, and return them in slices of
        :data:`SLICE_PARENTS` consecutive parents, each awaitable on its own: the walk delivers a slice (and the
        state that covers it) as soon as its children are in, while the later slices' requests go on."""
        found: Children = {}
        jobs: dict[int, list[tuple[str, asyncio.Future[list[Record]]]]] = {}
        wanted = {name: since for name, since in self.since.items() if name not in self.failed}
        carriers = {spec.embedded.carried_in for spec in self.children.values() if spec.embedded is not None}
        for parent in parents:
            parent_id = parent["id"]
            modified = modified_at(parent)
            for name, spec in self.children.items():
                if name not in wanted or (modified < wanted[name] and not self._every):
                    continue
                if spec.embedded is not None:
                    records = spec.embedded.records(parent)
                    if records is not None:
                        try:
                            found.setdefault(parent_id, {})[name] = self._adopt(spec, parent_id, records)
                        except ConnectorError as error:  # an unreadable date: that child stream fails alone
                            self.failed.setdefault(name, error)
                            wanted.pop(name, None)
                        continue
                    if "{" not in spec.path or not spec.embedded.per_parent:
                        self.failed.setdefault(
                            name,
                            UnexpectedResponse(
                                f"{name}: GET /{self.parent.api}{self.parent.path} answered {self.parent.name} "
                                f"{parent_id} without its {spec.embedded.carried_in} expanded, although "
                                f"asked with {_query(spec.embedded.params)}."
                            ),
                        )
                        wanted.pop(name, None)
                        continue
                jobs.setdefault(parent_id, []).append((name, self._start(name, self._list(spec, parent))))
            for carried_in in carriers:
                if carried_in in parent:
                    self._restore(parent, carried_in)
        slices = [parents[at : at + SLICE_PARENTS] for at in range(0, len(parents), SLICE_PARENTS)]
        return [Slice(len(part), asyncio.ensure_future(self._collect(part, found, jobs))) for part in slices]

    async def _collect(
        self,
        parents: list[Record],
        found: Children,
        jobs: Mapping[int, list[tuple[str, asyncio.Future[list[Record]]]]],
    ) -> tuple[Children, Failures]:
        """The children of ``parents`` once their requests are answered, and the child streams failed so far."""
        mine = [(name, parent["id"], job) for parent in parents for name, job in jobs.get(parent["id"], ())]
        children: Children = {
            parent["id"]: found[parent["id"]] for parent in parents if parent["id"] in found
        }
        results = await asyncio.gather(*(job for _, _, job in mine), return_exceptions=True)
        for (name, parent_id, _), result in zip(mine, results, strict=True):
            if isinstance(result, NotFound):
                self.log(
                    "INFO",
                    f"{name}: {self.parent.name} {parent_id} no longer exists; its {name} are skipped.",
                )
            elif isinstance(result, ConnectorError):
                self.failed.setdefault(name, result)
            elif isinstance(result, asyncio.CancelledError):
                continue  # cancelled because its stream failed: in self.failed, reported below
            elif isinstance(result, BaseException):
                raise result
            else:
                children.setdefault(parent_id, {})[name] = result
        # A child stream that failed here, or on another page, is failed on this page too: its records
        # here may be incomplete, and its cursor must not move past them.
        failures: Failures = {name: error for name, error in self.failed.items() if name in self.since}
        return children, failures

    async def _list(self, spec: StreamSpec, parent: Record) -> list[Record]:
        """All of one parent's children from the child's per-parent ``path``, page by page."""
        parent_id: int = parent["id"]
        path = _PLACEHOLDER.sub(str(parent_id), spec.path, count=1)
        where = f"GET /{spec.api}{path}"
        breaker = self.breakers.setdefault(spec.name, Breaker())
        # Within one parent a child is told apart by its key without the parent's id (added by _adopt).
        key = key_of(tuple(name for name in spec.primary_key if name != spec.parent_key))
        if spec.single:
            try:
                response = await self.client.get(spec.api, path, None, breaker=breaker)
            except NotFound:
                return []  # a parent without one (channels.v3.yml documents only the 200)
            body = response.body
            if body is not None and not isinstance(body, dict):
                raise UnexpectedResponse(
                    f"{where} answered with a JSON {type(body).__name__}, not an object."
                )
            data = (body or {}).get("data")
            return self._adopt(spec, parent_id, [data] if isinstance(data, dict) else [])
        complete = spec.embedded.complete if spec.embedded is not None else None
        records: list[Record] = []
        seen: set[Any] = set()
        limit = spec.page_size
        page = 1
        # v3 transactions document no paging parameters (reference/orders.v3.yml): asked bare, then as served.
        params = {"limit": str(limit)} if spec.api == "v2" or spec.after_id else None
        while True:
            response = await self.client.get(spec.api, path, params, breaker=breaker)
            body = response.body
            if spec.api == "v2":
                batch = body or []
                if not isinstance(batch, list):
                    raise UnexpectedResponse(
                        f"{where} answered with a JSON {type(batch).__name__}, not a list."
                    )
                total, more = None, False
            else:
                # As on a parent's page (paging.get_page): no body is an empty list (204), anything but the
                # envelope an unexpected answer, which must not pass for a parent without children.
                body = {"data": []} if body is None else body
                if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                    raise UnexpectedResponse(f"{where} answered without the v3 'data' list.")
                batch = body["data"]
                meta = envelope_part(body.get("meta"), where, "meta")
                pagination = envelope_part(meta.get("pagination"), where, "meta.pagination")
                total = pagination.get("total") if type(pagination.get("total")) is int else None
                links = envelope_part(pagination.get("links"), where, "meta.pagination.links")
                more = bool(links.get("next"))
                per_page = pagination.get("per_page")
                limit = per_page if type(per_page) is int and per_page > 0 else len(batch) or limit
            # Normalised (their keys checked) before their keys are read: a record that is not an object, or
            # whose id is a list, is a sentence of normalize's rather than a crash of the set below.
            self._adopt(spec, parent_id, batch)
            ids = [key(record) for record in batch]
            if ids and seen.issuperset(ids):
                what = f"after={params['after']}" if params and "after" in params else f"page={page}"
                raise ignored(spec.name, where, what)
            seen.update(ids)
            records.extend(batch)
            if spec.api == "v2":
                if complete is not None:
                    done = complete(parent, records)
                else:
                    # No total on v2: a short page is the end unless it may be a page the server cut, which
                    # holds as many records as any page of this endpoint (a cut page is the largest it serves).
                    done = len(batch) < SMALLEST_CUT or len(batch) < self.served.get(spec.name, 0)
                    self.served[spec.name] = max(self.served.get(spec.name, 0), len(batch))
                if not batch or (len(batch) < limit and done):
                    break
                if page == 1 and len(batch) < limit:
                    limit = len(batch)
            elif spec.after_id:
                if not batch or total is None or len(batch) >= total:
                    break
            elif not batch or ((total is None or len(records) >= total) and not more):
                # A page that links to another is not the last, whatever the total says or if it says none.
                break
            page += 1
            params = {"limit": str(limit)}
            if spec.after_id:
                params["after"] = str(max(ids))
            else:
                params["page"] = str(page)
        return records


def _query(params: Mapping[str, str]) -> str:
    return "&".join(f"{key}={value}" for key, value in params.items())
