"""What the fake tells about itself: its counters and request log (:class:`Stats`), and the
``/_fake/*`` routes — stats, log, totals, expected, reset-stats, inject, mutate.

Introspection needs no token, is never delayed or faulted, and is served both at the root and
under the prefix. ``POST /_fake/mutate`` changes the data while it is served (the same as
``FakeGitHub.mutate``; :mod:`.mutate`) and answers the summary of what changed.

Counters of conditional requests (:mod:`.etags`): ``not_modified`` counts the 304s answered;
``core_spent`` the requests that spent a unit of an account's "core" budget (a 304 gives its
unit back, GET /rate_limit and refused requests never take one), ``core_spent_by_account`` the
same per account label. So "``requests`` sent, ``not_modified`` answered 304, ``core_spent``
counted against the budget".
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

from gh_year_end.testing.fakegithub.data import EXTRA_ENDPOINTS, Visibility, parse_moment
from gh_year_end.testing.fakegithub.mutate import query_args
from gh_year_end.testing.fakegithub.wire import (
    Request,
    Response,
    error_response,
    json_response,
    not_found,
    to_int,
)

if TYPE_CHECKING:
    from gh_year_end.testing.fakegithub.server import FakeGitHub

_VISIBILITIES: tuple[Visibility, ...] = ("all", "public", "private")


class Stats:
    """Counters and the request log, shared between the server thread (writes) and callers
    (snapshots); ``lock`` guards both."""

    def __init__(self, log_size: int) -> None:
        self.lock = threading.Lock()
        self.inflight = 0
        self.log: deque[dict[str, Any]] = deque(maxlen=max(1, log_size))
        self.clear()

    def clear(self) -> None:
        """Zero every counter (max_inflight restarts from what is in flight now; the log stays)."""
        self.requests = 0
        self.connections = 0
        self.by_status: Counter[str] = Counter()
        self.by_endpoint: Counter[str] = Counter()
        self.hosts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.max_inflight = self.inflight
        self.rate_limited = 0
        self.secondary_limited = 0
        self.bad_auth = 0
        self.graphql_points = 0  # points spent by GraphQL queries (their count: by_endpoint)
        self.by_account: Counter[str] = Counter()  # authenticated requests per account label
        self.app_exchanges = 0  # installation tokens issued (POST …/access_tokens answered 201)
        self.expired_tokens = 0  # requests refused 401 for an expired installation token
        self.not_modified = 0  # conditional requests answered 304 Not Modified
        self.core_spent = 0  # requests that spent a unit of an account's "core" budget
        self.core_spent_by_account: Counter[str] = Counter()  # the same, per account label

    def snapshot(self) -> dict[str, Any]:
        """The /_fake/stats document."""
        with self.lock:
            return {
                "requests": self.requests,
                "connections": self.connections,
                "by_status": dict(self.by_status),
                "by_endpoint": dict(self.by_endpoint),
                "hosts": dict(self.hosts),
                "inflight": self.inflight,
                "max_inflight": self.max_inflight,
                "rate_limited": self.rate_limited,
                "secondary_limited": self.secondary_limited,
                "faults": dict(self.faults),
                "bad_auth": self.bad_auth,
                "graphql_points": self.graphql_points,
                "by_account": dict(self.by_account),
                "app_exchanges": self.app_exchanges,
                "expired_tokens": self.expired_tokens,
                "not_modified": self.not_modified,
                "core_spent": self.core_spent,
                "core_spent_by_account": dict(self.core_spent_by_account),
            }


def is_control(req: Request) -> bool:
    """Whether ``req`` is for ``/_fake/…`` (under the prefix or at the root)."""
    return req.path.startswith("/_fake/") or req.target.startswith("/_fake/")


def answer(fake: FakeGitHub, req: Request) -> Response:
    """The answer to a ``/_fake/…`` request.

    GET /_fake/stats, GET /_fake/log, GET /_fake/totals,
    GET /_fake/expected?since=&until=&include_forks=0|1&include_archived=0|1&visibility=&
    extra=repo_health,commit_stats, GET /_fake/totals?extra=…,
    POST /_fake/reset-stats, POST /_fake/inject?kind=&match=&times=,
    POST /_fake/mutate?seed=&edits=&adds=&deletes=&new_repos=&repos=&kinds=a,b&
    bump_pull_on_review=true|false (each optional; see :mod:`.mutate`; 400 naming what is wrong).
    """
    path = req.path if req.path.startswith("/_fake/") else req.target.partition("?")[0]
    p = req.params
    try:
        if path == "/_fake/stats" and req.method == "GET":
            return json_response(200, fake.stats())
        if path == "/_fake/reset-stats" and req.method == "POST":
            fake.reset_stats()
            return json_response(200, {"ok": True})
        if path == "/_fake/log" and req.method == "GET":
            return json_response(200, fake.log())
        if path == "/_fake/totals" and req.method == "GET":
            return json_response(200, fake.data.totals(_extra(p)))
        if path == "/_fake/inject" and req.method == "POST":
            fake.inject(
                p.get("kind", ""), match=p.get("match") or None, times=to_int(p.get("times"), 1)
            )
            return json_response(200, {"ok": True})
        if path == "/_fake/expected" and req.method == "GET":
            return _expected(fake, p)
        if path == "/_fake/mutate" and req.method == "POST":
            return json_response(200, fake.mutate(**query_args(p)))
    except ValueError as exc:
        return error_response(400, str(exc))
    return not_found()


def _expected(fake: FakeGitHub, p: dict[str, str]) -> Response:
    if "since" not in p or "until" not in p:
        return error_response(400, "since and until are required (ISO 8601)")
    visibility = next((v for v in _VISIBILITIES if v == p.get("visibility", "all")), None)
    if visibility is None:
        return error_response(400, "visibility must be all, public or private")
    return json_response(
        200,
        fake.expected(
            parse_moment(p["since"]),
            parse_moment(p["until"]),
            include_forks=p.get("include_forks", "0") in ("1", "true"),
            include_archived=p.get("include_archived", "0") in ("1", "true"),
            visibility=visibility,
            extra=_extra(p),
        ),
    )


def _extra(p: dict[str, str]) -> tuple[str, ...]:
    """The ``extra`` endpoints asked (a comma list); ValueError (400) for one it does not know."""
    asked = tuple(e.strip() for e in p.get("extra", "").split(",") if e.strip())
    unknown = sorted(set(asked) - set(EXTRA_ENDPOINTS))
    if unknown:
        raise ValueError(f"extra: unknown {unknown}; known: {', '.join(EXTRA_ENDPOINTS)}")
    return asked
