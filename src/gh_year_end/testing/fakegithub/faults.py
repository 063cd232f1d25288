"""Fault kinds, which data request gets which, and what each does to an answer.

A data request's fault comes from the settings' ``faults`` {request number: kind}, else from
an injection (:meth:`FaultPicker.inject`, ``POST /_fake/inject``), else from the seeded
``fault_rate`` draw over ``fault_kinds``. :func:`faulted_answer` builds the answer a fault
asks for; the ways of *writing* one badly ("reset", "truncate", "eof", "trickle", "slow") are
the server's (:mod:`.wire`). Only the item kinds parse and re-encode a page; unfaulted answers
are never re-parsed.

A GraphQL request (POST /graphql) is a data request like any other and draws its fault the
same way (``match="/graphql"`` injects into GraphQL requests only). What each kind does to it:
"500"/"502"/"503" replace the answer before the query runs (no points spent); "reset",
"truncate", "eof", "trickle", "slow", "empty", "null", "202", "204" and "badjson" spoil the real
answer as for REST (the query ran: its points are spent); "stuck", "cycle", "null-item",
"string-item", "list-id" and "hostile-name" reshape a REST list page — a GraphQL answer has
none, so they leave it be (a GraphQL client pages by cursor: "cycle"/"stuck" have no GraphQL
counterpart here).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Final

import orjson

from gh_year_end.testing.fakegithub.paging import link
from gh_year_end.testing.fakegithub.wire import REASONS, Request, Response, json_response

FAULT_MEANINGS: Final[Mapping[str, str]] = {
    "500": "answer 500 Internal Server Error with a JSON message",
    "502": "answer 502 Bad Gateway with a JSON message",
    "503": "answer 503 Service Unavailable with a JSON message",
    "reset": "drop the connection with a TCP RST, no answer at all",
    "truncate": "send the head and half the body Content-Length promises, then close",
    "badjson": "answer 200 with a body that is not valid JSON",
    "slow": "answer normally, slow_seconds (--slow-seconds) late",
    "empty": "answer 200 with Content-Length 0 and no body; real headers, Link included",
    "null": "answer 200 with the body null; real headers, Link included",
    "202": "answer 202 Accepted with no body (Content-Length 0), no Link",
    "204": "answer 204 No Content, no body, no Content-Length, no Link",
    "eof": "a 200 head without Content-Length (Connection: close), then hang up: empty body",
    "trickle": "the real answer, its body one byte every trickle_seconds (--trickle-seconds)",
    "cycle": "the real list page, its Link rel=next pointing back to page 1",
    "stuck": "a list answers page 1 whatever page and since ask (Link as for page 1)",
    "null-item": "the real list page with its first element replaced by null",
    "string-item": 'the real list page with its first element replaced by "not a record"',
    "list-id": 'the real list page, the "id" of its first element replaced by [1, 2]',
    "hostile-name": 'repo listings: the first repo named "../../escape" (full_name too)',
}
FAULT_KINDS: Final = tuple(FAULT_MEANINGS)
DEFAULT_FAULT_KINDS: Final = ("500", "502", "503", "reset", "truncate", "badjson")
"""What ``fault_rate`` draws from by default: the transport/server errors a client retries."""
_SERVER_ERRORS: Final = frozenset({"500", "502", "503"})


def check_kind(kind: str) -> None:
    """ValueError unless ``kind`` is a fault kind."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")


@dataclass
class _Injection:
    kind: str
    match: str | None
    times: int


class FaultPicker:
    """Picks each data request's fault (or none); thread-safe."""

    def __init__(
        self, faults: Mapping[int, str], rate: float, kinds: tuple[str, ...], seed: int
    ) -> None:
        self._faults = faults
        self._rate = rate
        self._kinds = kinds
        self._rng = random.Random(f"ghye-fake-faults:{seed}")
        self._injections: list[_Injection] = []
        self._lock = threading.Lock()

    def pick(self, target: str, no: int) -> str | None:
        """The fault of data request number ``no`` (for ``target``), or None."""
        # one draw per data request, always, so the sequence depends only on request numbers
        drawn = self._rng.random()
        pick = self._rng.choice(self._kinds) if self._kinds else None
        if no in self._faults:
            return self._faults[no]
        if self._injections:
            with self._lock:
                for injection in self._injections:
                    if injection.match is None or injection.match in target:
                        injection.times -= 1
                        if injection.times <= 0:
                            self._injections.remove(injection)
                        return injection.kind
        if drawn < self._rate:
            return pick
        return None

    def inject(self, kind: str, *, match: str | None = None, times: int = 1) -> None:
        """Fail the next ``times`` data requests whose target contains ``match`` with ``kind``."""
        check_kind(kind)
        with self._lock:
            self._injections.append(_Injection(kind, match, times))

    def clear(self) -> None:
        """Forget every injection not used up yet."""
        with self._lock:
            self._injections.clear()


def faulted_answer(kind: str, req: Request, route: Callable[[Request], Response]) -> Response:
    """The answer to ``req`` as the fault ``kind`` has it; ``route`` answers a request.

    "500"/"502"/"503" replace the answer (nothing is routed); "stuck" routes as if ``page``
    and ``since`` were not asked; "badjson" replaces the body; the rest reshape the real
    answer, or leave it be where they do not apply (a list kind on an answer that is not a
    list page). The kinds carried out on the wire come back as the real answer.
    """
    if kind in _SERVER_ERRORS:
        status = int(kind)
        return json_response(status, {"message": REASONS[status]})
    response = route(first_page(req) if kind == "stuck" else req)
    if kind == "badjson":
        return Response(200, b'[{"id": 1, "title": "cut here', endpoint=response.endpoint)
    return misbehave(kind, req, response)


def misbehave(kind: str, req: Request, response: Response) -> Response:
    """``response`` as the fault ``kind`` spoils it; kinds with nothing to reshape here (or
    that do not apply to this route) return it unchanged."""
    where = response.page
    match kind:
        case "empty" | "null":
            body = b"" if kind == "empty" else b"null"
            return Response(200, body, response.headers, response.endpoint, where)
        case "eof":  # the head of a 200, its headers as the real answer's; no body follows
            return Response(200, b"", response.headers, response.endpoint, where)
        case "202" | "204":
            headers = [h for h in response.headers if h[0] != "Link"]
            return Response(int(kind), b"", headers, response.endpoint)
        case "cycle" if where is not None:
            headers = [h for h in response.headers if h[0] != "Link"]
            header = link(req, where, cycle=True)
            if header:
                headers.append(("Link", header))
            response.headers = headers
        case "null-item" | "string-item" | "list-id" if where is not None:
            response.body = spoil_first(response.body, kind)
        case "hostile-name" if where is not None and response.endpoint == "repos_list":
            response.body = spoil_first(response.body, kind)
    return response


def first_page(req: Request) -> Request:
    """``req`` as routed for a "stuck" fault: no ``page``, no ``since`` (Link keeps the query)."""
    params = {k: v for k, v in req.params.items() if k not in ("page", "since")}
    return replace(req, params=params)


def spoil_first(body: bytes, kind: str) -> bytes:
    """A JSON array's body with its first element spoiled as ``kind`` says (unchanged when the
    body is not a non-empty array, or the element has no record to spoil)."""
    items = orjson.loads(body)
    if not isinstance(items, list) or not items:
        return body
    first = items[0]
    if kind == "null-item":
        items[0] = None
    elif kind == "string-item":
        items[0] = "not a record"
    elif not isinstance(first, dict):
        return body
    elif kind == "list-id":
        first["id"] = [1, 2]
    elif kind == "hostile-name":
        owner = str(first.get("full_name", "")).partition("/")[0]
        first["name"] = "../../escape"
        first["full_name"] = f"{owner}/../../escape"
    return orjson.dumps(items)
