"""A fake GitHub REST API over real HTTP/1.1 on 127.0.0.1, for the tests, the demo and benchmarks.

The server is written directly on asyncio streams (keep-alive, Content-Length bodies) so that it
can misbehave the way networks and servers do: reset a connection mid-request, promise more body
than it sends, answer invalid JSON, stall, drip the body a byte at a time, answer 200 with nothing
in it, page in circles. It runs in a background thread with its own event loop::

    with FakeGitHub(FakeSettings(owner="acme", repos=12)) as fake:
        httpx.get(fake.url("/orgs/acme/repos"), headers={"Authorization": "Bearer fake-token"})
        fake.stats()        # what it was asked, what it answered
        fake.expected(since, until)   # the ids a correct collection of the window holds
        fake.inject("empty", match="/pulls")   # the next matching data request answers 200 + ""

or from a shell (prints "fake GitHub listening on <base_url>", serves until SIGINT/SIGTERM)::

    python -m gh_year_end.testing.fakegithub --owner acme --repos 12 --prefix /api/v3

Request pipeline of a data route (anything not under ``/_fake/``), in this order:
auth (401) → secondary limit (403 + Retry-After) → primary limit (403/429) → fault pick → route
(a "stuck" fault routes as if ``page`` and ``since`` were not asked) → the fault reshapes the
answer ("500"/"502"/"503" replace it; "badjson", "empty", "null", "202", "204", "eof", "cycle",
"null-item", "string-item", "list-id", "hostile-name" rewrite it) → x-ratelimit-* headers (unless
``rate_headers`` is off) → the answer is written ``latency`` (+ ``slow_seconds`` for a "slow"
fault) after the request came in — the fake's own work counts towards that time — whole, or
as the fault says: "reset" drops the connection, "truncate" sends half the promised body,
"eof" sends a close-delimited head and hangs up, "trickle" sends the body one byte every
``trickle_seconds``.

Fault kinds (:data:`FAULT_MEANINGS` has the one-line meaning of each, ``--help`` prints them) are
picked per data request from ``faults`` {request number: kind}, then :meth:`FakeGitHub.inject`
(or ``POST /_fake/inject``), then the seeded ``fault_rate`` draw from ``fault_kinds`` (by default
only :data:`DEFAULT_FAULT_KINDS`: the transport/server errors a client retries). Only the item
kinds ("null-item", "string-item", "list-id", "hostile-name") parse and re-encode a page;
unfaulted answers are never re-parsed.

Introspection needs no token, is never delayed or faulted, and is served both at the root and
under the prefix: GET /_fake/stats, GET /_fake/log, GET /_fake/totals,
GET /_fake/expected?since=&until=&include_forks=0|1&include_archived=0|1&visibility=,
POST /_fake/reset-stats, POST /_fake/inject?kind=&match=&times=.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import itertools
import math
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlencode

import orjson

from gh_year_end.testing.fakedata import (
    TOKEN_USER_ID,
    TOKEN_USER_LOGIN,
    DataSpec,
    FakeData,
    RepoData,
    RepoInfo,
    Visibility,
    parse_moment,
)
from gh_year_end.testing.fakerecords import RecordBuilder, Records

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
DOCS_URL: Final = "https://docs.github.com/rest"
FORBIDDEN_MESSAGE: Final = "Resource not accessible by integration"
SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
EMPTY_REPO_MESSAGE: Final = "Git Repository is empty."
_JSON: Final = "application/json; charset=utf-8"
_REASONS: Final = {
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    451: "Unavailable For Legal Reasons",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
_ROWS_CACHE_SIZE: Final = 256


@dataclass(frozen=True)
class FakeSettings(DataSpec):
    """Everything the fake does; the data fields come from :class:`DataSpec`.

    ``rate_limit`` requests per fixed ``rate_window`` seconds (the window starts at the first
    request; the default is effectively unlimited), answered ``rate_limit_status`` beyond it.
    ``max_concurrent`` data requests in flight (None: no secondary limit); beyond it 403 with
    ``Retry-After: secondary_retry_after``. ``faults`` maps a data request's number (1-based,
    counted over every request outside ``/_fake/`` since start; ``reset-stats`` does not
    renumber) to a fault kind; ``fault_rate`` draws a fault from ``fault_kinds`` for that share
    of data requests (seeded by ``seed``). ``link_base_url`` replaces ``base_url`` in Link
    headers (to test foreign next links). ``rate_headers`` False sends no x-ratelimit-* header
    on any answer (as behind a proxy that strips them; the limit itself still applies).
    ``trickle_seconds`` is the pause before each body byte of a "trickle" fault.
    """

    token: str = "fake-token"  # noqa: S105 - the fake's own test token
    prefix: str = ""
    port: int = 0
    latency: float = 0.0
    rate_limit: int = 1_000_000
    rate_window: float = 3600.0
    rate_limit_status: int = 403
    max_concurrent: int | None = None
    secondary_retry_after: int = 1
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = DEFAULT_FAULT_KINDS
    faults: Mapping[int, str] = field(default_factory=dict)
    slow_seconds: float = 2.0
    link_base_url: str | None = None
    log_size: int = 10_000
    rate_headers: bool = True
    trickle_seconds: float = 2.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prefix and (not self.prefix.startswith("/") or self.prefix.endswith("/")):
            raise ValueError(
                f"prefix must look like /api/v3 (leading, no trailing slash), got {self.prefix!r}"
            )
        if not self.token:
            raise ValueError("token must not be empty")
        if self.rate_limit < 0 or self.rate_window <= 0:
            raise ValueError("rate_limit must be >= 0 and rate_window > 0")
        if self.rate_limit_status not in (403, 429):
            raise ValueError(f"rate_limit_status must be 403 or 429, got {self.rate_limit_status}")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1 (or None for no secondary limit)")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        kinds = [*self.fault_kinds, *self.faults.values()]
        unknown = sorted({k for k in kinds if k not in FAULT_KINDS})
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        if self.latency < 0 or self.slow_seconds < 0:
            raise ValueError("latency and slow_seconds must not be negative")
        if not self.trickle_seconds >= 0:  # NaN too
            raise ValueError(f"trickle_seconds must be >= 0, got {self.trickle_seconds}")
        if not isinstance(self.rate_headers, bool):
            raise ValueError(f"rate_headers must be True or False, got {self.rate_headers!r}")


@dataclass(slots=True)
class _Request:
    method: str
    target: str
    path: str  # without the prefix, percent-decoded segments are decoded by the router
    query: list[tuple[str, str]]
    params: dict[str, str]
    headers: dict[str, str]
    keep_alive: bool


@dataclass(slots=True)
class _Page:
    """Where a list answer sits in its listing: what a fault needs to rewrite its Link."""

    path: str  # the listing's canonical path, as Link URLs spell it
    page: int
    last: int


@dataclass(slots=True)
class _Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    endpoint: str = "unknown"
    page: _Page | None = None  # set on every list answer (by _Api._page), None otherwise


def _json(status: int, payload: Any, *, endpoint: str = "unknown") -> _Response:
    return _Response(status, orjson.dumps(payload), endpoint=endpoint)


def _error(status: int, message: str, *, endpoint: str = "unknown", **extra: Any) -> _Response:
    return _json(
        status, {"message": message, "documentation_url": DOCS_URL, **extra}, endpoint=endpoint
    )


def _not_found(endpoint: str = "unknown") -> _Response:
    return _error(404, "Not Found", endpoint=endpoint)


class _InvalidParamError(Exception):
    """A query parameter GitHub would refuse with 422."""


def _int(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        return default


def _choice(params: Mapping[str, str], key: str, default: str, options: Sequence[str]) -> str:
    value = params.get(key, default) or default
    if value not in options:
        raise _InvalidParamError(f"{key} must be one of {', '.join(options)}, got {value!r}")
    return value


def _moment(params: Mapping[str, str], key: str) -> float | None:
    value = params.get(key)
    if not value:
        return None
    try:
        return parse_moment(value).timestamp()
    except ValueError:
        raise _InvalidParamError(f"{key} {value!r} is not a valid ISO 8601 timestamp") from None


# --- rate limiting --------------------------------------------------------------------------


class _RateWindow:
    """GitHub's primary limit: ``limit`` requests per fixed window, starting at first use."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.used = 0
        self.reset = 0

    def _roll(self) -> None:
        now = self.clock()
        if now >= self.reset:
            self.reset = math.ceil(now + self.window)
            self.used = 0

    def take(self) -> bool:
        """Count one request; False when the window's budget is spent."""
        self._roll()
        if self.used >= self.limit:
            return False
        self.used += 1
        return True

    def headers(self) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers as of now."""
        self._roll()
        return [
            ("x-ratelimit-limit", str(self.limit)),
            ("x-ratelimit-remaining", str(max(0, self.limit - self.used))),
            ("x-ratelimit-used", str(self.used)),
            ("x-ratelimit-reset", str(self.reset)),
            ("x-ratelimit-resource", "core"),
        ]

    def snapshot(self) -> dict[str, int]:
        """GET /rate_limit's view of the window."""
        self._roll()
        return {
            "limit": self.limit,
            "used": self.used,
            "remaining": max(0, self.limit - self.used),
            "reset": self.reset,
        }


# --- the API: routes → responses (pure: no I/O, no policy) ---------------------------------


class _Api:
    """GitHub's REST semantics over :class:`FakeData`."""

    def __init__(self, data: FakeData, records: Records, link_base: str) -> None:
        self.data = data
        self.records = records
        self.link_base = link_base
        self.spec = data.spec
        self._rows: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()

    def handle(self, req: _Request) -> _Response:
        """Answer one authenticated, admitted GET."""
        if req.method != "GET":
            return _not_found()
        parts = [unquote(p) for p in req.path.strip("/").split("/")] if req.path.strip("/") else []
        try:
            return self._route(req, parts)
        except _InvalidParamError as exc:
            return _error(
                422, "Validation Failed", errors=[{"message": str(exc), "code": "invalid"}]
            )

    def _route(self, req: _Request, parts: list[str]) -> _Response:
        spec = self.spec
        owner = spec.owner.lower()
        match parts:
            case ["user"]:
                return _json(200, self._account(token=True), endpoint="user")
            case ["user", "repos"]:
                return self._user_repos(req)
            case ["user", uid, "repos"] if uid.isdigit():
                if int(uid) != self.data.owner_id:
                    return _json(200, [], endpoint="repos_list")
                return self._public_repos(req, f"/user/{uid}/repos")
            case ["users", login]:
                return self._user(login)
            case ["users", login, "repos"]:
                if login.lower() == owner:
                    return self._public_repos(req, f"/user/{self.data.owner_id}/repos")
                if login.lower() == TOKEN_USER_LOGIN and spec.mode == "org":
                    return _json(200, [], endpoint="repos_list")
                return _not_found("repos_list")
            case ["orgs", org] if spec.mode == "org" and org.lower() == owner:
                return _json(200, self._org(), endpoint="orgs")
            case ["orgs", org, "repos"] if spec.mode == "org" and org.lower() == owner:
                return self._org_repos(req)
            case ["organizations", oid, "repos"] if spec.mode == "org" and oid == str(
                self.data.owner_id
            ):
                return self._org_repos(req)
            case ["repos", o, r, *rest]:
                return self._repo(req, self.data.find(o, r), rest)
            case ["repositories", rid, *rest] if rid.isdigit():
                return self._repo(req, self.data.find_id(int(rid)), rest)
        return _not_found()

    # --- accounts ---------------------------------------------------------------------------

    def _account(self, *, token: bool) -> dict[str, Any]:
        base = self.records.token_user() if token else self.records.owner()
        public = sum(1 for r in self.data.repos if not r.private)
        return {
            **base,
            "name": base["login"].title(),
            "company": None,
            "blog": "",
            "location": None,
            "email": None,
            "bio": None,
            "public_repos": public if base["id"] == self.data.owner_id else 0,
            "followers": 0,
            "following": 0,
            "created_at": "2015-05-05T10:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
        }

    def _user(self, login: str) -> _Response:
        if login.lower() == self.spec.owner.lower():
            return _json(200, self._account(token=False), endpoint="users")
        if login.lower() == TOKEN_USER_LOGIN:
            return _json(200, self._account(token=True), endpoint="users")
        return _not_found("users")

    def _org(self) -> dict[str, Any]:
        o = self.records.owner()
        url = f"{self.records.api}/orgs/{o['login']}"
        return {
            "login": o["login"],
            "id": o["id"],
            "node_id": o["node_id"],
            "url": url,
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events",
            "hooks_url": f"{url}/hooks",
            "issues_url": f"{url}/issues",
            "members_url": f"{url}/members{{/member}}",
            "public_members_url": f"{url}/public_members{{/member}}",
            "avatar_url": o["avatar_url"],
            "description": "A fake organization",
            "name": o["login"].title(),
            "html_url": o["html_url"],
            "public_repos": sum(1 for r in self.data.repos if not r.private),
            "total_private_repos": sum(1 for r in self.data.repos if r.private),
            "owned_private_repos": sum(1 for r in self.data.repos if r.private),
            "created_at": "2015-05-05T10:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "type": "Organization",
        }

    # --- repository listings -----------------------------------------------------------------

    def _listing(
        self, req: _Request, repos: list[RepoInfo], default_sort: str, path: str
    ) -> _Response:
        sort = _choice(
            req.params, "sort", default_sort, ("created", "updated", "pushed", "full_name")
        )
        direction = _choice(
            req.params, "direction", "asc" if sort == "full_name" else "desc", ("asc", "desc")
        )
        keys: dict[str, Callable[[RepoInfo], Any]] = {
            "created": lambda r: (r.created, r.id),
            "updated": lambda r: (r.pushed, r.id),
            "pushed": lambda r: (r.pushed, r.id),
            "full_name": lambda r: r.full_name.lower(),
        }
        rows = sorted(repos, key=keys[sort], reverse=direction == "desc")
        return self._page(req, rows, self.records.repository_json, path, "repos_list")

    def _org_repos(self, req: _Request) -> _Response:
        kind = _choice(
            req.params, "type", "all", ("all", "public", "private", "forks", "sources", "member")
        )
        keep: dict[str, Callable[[RepoInfo], bool]] = {
            "public": lambda r: not r.private,
            "private": lambda r: r.private,
            "forks": lambda r: r.fork,
            "sources": lambda r: not r.fork,
        }
        test = keep.get(kind, _any_repo)
        repos = [r for r in self.data.repos if test(r)]
        return self._listing(req, repos, "created", f"/organizations/{self.data.owner_id}/repos")

    def _public_repos(self, req: _Request, path: str) -> _Response:
        _choice(req.params, "type", "owner", ("all", "owner", "member"))
        repos = [r for r in self.data.repos if not r.private]
        return self._listing(req, repos, "full_name", path)

    def _user_repos(self, req: _Request) -> _Response:
        visibility = _choice(req.params, "visibility", "all", ("all", "public", "private"))
        kind = _choice(req.params, "type", "all", ("all", "owner", "public", "private", "member"))
        affiliation = set(
            req.params.get("affiliation", "owner,collaborator,organization_member").split(",")
        )
        wanted = "owner" if self.spec.mode == "user" else "organization_member"
        repos = list(self.data.repos) if wanted in affiliation else []
        if kind in ("public", "private"):
            visibility = kind
        if visibility != "all":
            repos = [r for r in repos if r.private == (visibility == "private")]
        return self._listing(req, repos, "full_name", "/user/repos")

    # --- one repository ----------------------------------------------------------------------

    def _repo(self, req: _Request, info: RepoInfo | None, rest: list[str]) -> _Response:
        name = _endpoint_name(rest)
        if info is None or info.status == 404:
            return _not_found(name)
        if info.status == 451:
            return _error(
                451,
                "Repository access blocked",
                endpoint=name,
                block={
                    "reason": "dmca",
                    "created_at": "2025-02-03T04:05:06Z",
                    "html_url": DOCS_URL,
                },
            )
        if not rest:
            return _json(200, self.records.repository(info), endpoint="repo")
        if info.status == 403:
            return _error(403, FORBIDDEN_MESSAGE, endpoint=name)
        d = self.data.repo(info)
        rec = self.records
        p = req.params
        path = f"/repositories/{info.id}/{'/'.join(rest)}"
        key: tuple[Any, ...]
        match rest:
            case ["pulls"]:
                state = _choice(p, "state", "open", ("open", "closed", "all"))
                sort = _choice(
                    p, "sort", "created", ("created", "updated", "popularity", "long-running")
                )
                desc = _choice(
                    p, "direction", "desc" if sort == "created" else "asc", ("asc", "desc")
                )
                key = (info.index, "pulls", state, sort == "updated", desc)
                rows = self._cached(key, lambda: d.pulls(state, sort, desc == "desc"))
                return self._page(req, rows, _bind(rec.pull, info, d), path, name)
            case ["pulls", number] if number.isdigit():
                row = int(number) - 1
                if not 0 <= row < d.tickets or d.t_pull_rank[row] < 0:
                    return _not_found(name)
                return _Response(200, rec.pull(info, d, row).encode(), endpoint=name)
            case ["issues"]:
                state = _choice(p, "state", "open", ("open", "closed", "all"))
                sort = _choice(p, "sort", "created", ("created", "updated", "comments"))
                desc = _choice(p, "direction", "desc", ("asc", "desc"))
                since = _moment(p, "since")
                key = (info.index, "issues", state, sort, desc, since)
                rows = self._cached(key, lambda: d.issues(state, since, sort, desc == "desc"))
                return self._page(req, rows, _bind(rec.issue, info, d), path, name)
            case ["issues", "comments"] | ["pulls", "comments"]:
                kind: Literal["ic", "rc"] = "ic" if rest[0] == "issues" else "rc"
                sort = _choice(p, "sort", "created", ("created", "updated"))
                # as GitHub: direction is ignored without sort; the default order is oldest first
                desc = _choice(p, "direction", "asc", ("asc", "desc")) if "sort" in p else "asc"
                since = _moment(p, "since")
                key = (info.index, kind, sort, desc, since)
                rows = self._cached(key, lambda: d.comments(kind, since, sort, desc == "desc"))
                build = rec.issue_comment if kind == "ic" else rec.review_comment
                return self._page(req, rows, _bind(build, info, d), path, name)
            case ["pulls", number, "reviews"] if number.isdigit():
                found = d.reviews(int(number))
                if found is None:
                    return _not_found(name)
                return self._page(req, found, _bind(rec.review, info, d), path, name)
            case ["commits"]:
                if info.empty:
                    return _error(409, EMPTY_REPO_MESSAGE, endpoint=name)
                since, until = _moment(p, "since"), _moment(p, "until")
                key = (info.index, "commits", since, until)
                rows = self._cached(key, lambda: d.commits(since, until))
                return self._page(req, rows, _bind(rec.commit, info, d), path, name)
        return _not_found(name)

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], list[int]]) -> list[int]:
        """Filtered row lists per query: every page of one listing filters the same way."""
        found = self._rows.get(key)
        if found is not None:
            self._rows.move_to_end(key)
            return found
        found = compute()
        self._rows[key] = found
        if len(self._rows) > _ROWS_CACHE_SIZE:
            self._rows.popitem(last=False)
        return found

    def _page(
        self,
        req: _Request,
        rows: Sequence[Any],
        build: Callable[[Any], str],
        path: str,
        endpoint: str,
    ) -> _Response:
        per_page = _int(req.params.get("per_page"), 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(1, _int(req.params.get("page"), 1))
        last = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        records = [build(r) for r in chunk]
        if records:  # brackets on the ends: one join, one encode, no extra copy of the page
            records[0] = "[" + records[0]
            records[-1] += "]"
        else:
            records = ["[]"]
        response = _Response(
            200, ",".join(records).encode(), endpoint=endpoint, page=_Page(path, page, last)
        )
        link = self._link(req, path, page, last)
        if link:
            response.headers.append(("Link", link))
        return response

    def _link(
        self, req: _Request, path: str, page: int, last: int, *, cycle: bool = False
    ) -> str | None:
        """GitHub's Link header: prev, next, last, first — each `<url>; rel="…"`.

        ``cycle``: rel="next" points back at page 1, on every page (the "cycle" fault).
        """
        if page <= 1 and last <= 1 and not cycle:
            return None
        base = f"{self.link_base}{path}?"
        pairs = [(k, v) for k, v in req.query if k != "page"]

        def url(n: int) -> str:
            return base + urlencode([*pairs, ("page", str(n))])

        parts = []
        if page > 1:
            parts.append(f'<{url(page - 1)}>; rel="prev"')
        if cycle:
            parts.append(f'<{url(1)}>; rel="next"')
        elif page < last:
            parts.append(f'<{url(page + 1)}>; rel="next"')
        if page < last:
            parts.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            parts.append(f'<{url(1)}>; rel="first"')
        return ", ".join(parts)

    # --- faults that reshape an answer ------------------------------------------------------

    def misbehave(self, kind: str, req: _Request, response: _Response) -> _Response:
        """``response`` as the fault ``kind`` spoils it; kinds with nothing to reshape here (or
        that do not apply to this route) return it unchanged."""
        listing = response.page is not None
        match kind:
            case "empty" | "null":
                body = b"" if kind == "empty" else b"null"
                return _Response(200, body, response.headers, response.endpoint, response.page)
            case "eof":  # the head of a 200, its headers as the real answer's; no body follows
                return _Response(200, b"", response.headers, response.endpoint, response.page)
            case "202" | "204":
                headers = [h for h in response.headers if h[0] != "Link"]
                return _Response(int(kind), b"", headers, response.endpoint)
            case "cycle" if response.page is not None:
                p = response.page
                headers = [h for h in response.headers if h[0] != "Link"]
                link = self._link(req, p.path, p.page, p.last, cycle=True)
                if link:
                    headers.append(("Link", link))
                response.headers = headers
            case "null-item" | "string-item" | "list-id" if listing:
                response.body = _spoil_first(response.body, kind)
            case "hostile-name" if listing and response.endpoint == "repos_list":
                response.body = _spoil_first(response.body, kind)
        return response


def _any_repo(_info: RepoInfo) -> bool:
    return True


def _first_page(req: _Request) -> _Request:
    """``req`` as routed for a "stuck" fault: no ``page``, no ``since`` (Link keeps the query)."""
    params = {k: v for k, v in req.params.items() if k not in ("page", "since")}
    return replace(req, params=params)


def _spoil_first(body: bytes, kind: str) -> bytes:
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


def _bind(build: RecordBuilder, info: RepoInfo, d: RepoData) -> Callable[[int], str]:
    return lambda row: build(info, d, row)


def _endpoint_name(rest: Sequence[str]) -> str:
    match rest:
        case []:
            return "repo"
        case ["pulls"]:
            return "pulls"
        case ["pulls", "comments"]:
            return "review_comments"
        case ["pulls", _n]:
            return "pull"
        case ["issues"]:
            return "issues"
        case ["issues", "comments"]:
            return "issue_comments"
        case ["pulls", _n, "reviews"]:
            return "reviews"
        case ["commits"]:
            return "commits"
    return "unknown"


# --- stats ----------------------------------------------------------------------------------


class _Stats:
    """Counters shared between the server thread (writes) and callers (snapshots)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inflight = 0
        self.clear()

    def clear(self) -> None:
        """Zero every counter (max_inflight restarts from what is in flight now)."""
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
            }


@dataclass
class _Injection:
    kind: str
    match: str | None
    times: int


# --- the server -----------------------------------------------------------------------------


class FakeGitHub:
    """The fake GitHub server. ``start()`` binds 127.0.0.1 and serves from a background thread."""

    def __init__(
        self, settings: FakeSettings | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings or FakeSettings()
        self.data = FakeData(self.settings)
        self._clock = clock
        self._stats = _Stats()
        self._rate = _RateWindow(self.settings.rate_limit, self.settings.rate_window, clock)
        self._rng = random.Random(f"ghye-fake-faults:{self.settings.seed}")
        self._seq = 0
        self._log: deque[dict[str, Any]] = deque(maxlen=max(1, self.settings.log_size))
        self._injections: list[_Injection] = []
        self._inject_lock = threading.Lock()
        self._api: _Api | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()
        self._closing_waiter: asyncio.Future[Any] | None = None  # done when _closing is set
        self._writers: set[asyncio.StreamWriter] = set()
        self._startup_error: BaseException | None = None
        self._date = (0, "")
        self._response_ids = itertools.count(1)

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Bind and serve in a background thread; returns self once it accepts connections."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="fakegithub", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Close every connection, stop the loop, join the thread. Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("the fake GitHub is not started — call start() or use `with`")
        return self._port

    @property
    def origin(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The API root a client is configured with: origin + prefix (e.g. /api/v3)."""
        return self.origin + self.settings.prefix

    def url(self, path: str) -> str:
        """base_url + path."""
        return self.base_url + path

    # --- introspection (thread-safe) -----------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters since start (or the last reset_stats); the same document as GET /_fake/stats."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        """Zero the counters (request numbering for ``faults`` continues)."""
        with self._stats.lock:
            self._stats.clear()

    def log(self) -> list[dict[str, Any]]:
        """The last ``log_size`` data requests: no, method, target, status, fault, endpoint,
        connection (an id per client connection), received and answered (``time.monotonic()``)."""
        with self._stats.lock:
            return list(self._log)

    def inject(self, kind: str, *, match: str | None = None, times: int = 1) -> None:
        """Fail the next ``times`` data requests whose target contains ``match`` with ``kind``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self._inject_lock:
            self._injections.append(_Injection(kind, match, times))

    def clear_faults(self) -> None:
        """Forget every injected fault not used up yet (``settings.faults`` stay)."""
        with self._inject_lock:
            self._injections.clear()

    def expected(
        self,
        since: datetime,
        until: datetime,
        *,
        include_forks: bool = False,
        include_archived: bool = False,
        visibility: Visibility = "all",
    ) -> dict[str, Any]:
        """What a correct collection of [since, until) holds, by the window rule.

        ``{"repos": [full names kept by the discovery filters, by name],
        "units": {full_name: {"pulls": [ids], "issues": [ids], "issue_comments": [ids],
        "review_comments": [ids], "reviews": [ids], "commits": [shas]}},
        "unavailable": {full_name: 404|451|403}, "empty": [full names], "since", "until"}``.
        Every kept repo has a units entry; repos that answer 404/451/403 and empty repos have
        empty lists (their data cannot be collected). Ids ascend; compare as sets.
        """
        return self.data.expected(
            since,
            until,
            include_forks=include_forks,
            include_archived=include_archived,
            visibility=visibility,
        )

    # --- the event loop thread -------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._closing = asyncio.Event()  # one per loop: an Event binds to the loop that uses it
        self._closing_waiter = None
        try:
            try:
                server = loop.run_until_complete(
                    asyncio.start_server(
                        self._on_connection, "127.0.0.1", self.settings.port, backlog=512
                    )
                )
            except OSError as exc:
                self._startup_error = exc
                ready.set()
                return
            self._server = server
            self._port = int(server.sockets[0].getsockname()[1])
            link_base = self.settings.link_base_url or self.base_url
            self._api = _Api(self.data, Records(self.data, self.base_url), link_base)
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown(server))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        # No task.cancel(): asyncio's stream callback chokes on a cancelled handler. Wake the
        # sleepers, drop the connections, and let every handler run out on its own.
        server.close()
        self._closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        await server.wait_closed()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    async def _sleep_unless_gone(self, seconds: float, reader: asyncio.StreamReader) -> bool:
        """Sleep like :meth:`_sleep`; False as soon as the client hangs up meanwhile.

        A client that gave up on a slow answer is no longer a request in flight, as on GitHub:
        the connection's EOF ends it at once instead of after the sleep. (A client awaiting an
        answer sends nothing more on the connection, so reading here takes no request bytes.)
        One task per request (the read): the fake's own CPU is latency its clients would see.
        """
        if seconds <= 0:
            return True
        if self._closing.is_set():
            return True
        if self._closing_waiter is None or self._closing_waiter.done():
            self._closing_waiter = asyncio.ensure_future(self._closing.wait())
        hangup = asyncio.ensure_future(reader.read(1))
        try:
            await asyncio.wait(
                {hangup, self._closing_waiter},
                timeout=seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            hangup.cancel()
            # Let the cancelled read end before the connection's next read begins: a reader
            # takes one waiter at a time.
            await asyncio.gather(hangup, return_exceptions=True)
        return not (
            hangup.done()
            and not hangup.cancelled()
            and hangup.exception() is None
            and hangup.result() == b""
        )

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        with self._stats.lock:
            self._stats.connections += 1
        try:
            while await self._serve_one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:  # loop teardown: end quietly, the connection is gone
            pass
        finally:
            self._tasks.discard(task)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Read one request and answer it; False when the connection is to be closed."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            await self._write(writer, _error(431, "Request header too large"), keep=False)
            return False
        req = _parse(head, self.settings.prefix)
        if req is None:
            await self._write(writer, _error(400, "Bad request line"), keep=False)
            return False
        length = _int(req.headers.get("content-length"), 0)
        if length > 0:
            await reader.readexactly(length)
        if "transfer-encoding" in req.headers:
            await self._write(
                writer, _error(400, "chunked request bodies are not supported"), keep=False
            )
            return False
        if req.path.startswith("/_fake/") or req.target.startswith("/_fake/"):
            await self._write(writer, self._introspect(req), keep=req.keep_alive, count=False)
            return req.keep_alive
        return await self._serve_data(req, reader, writer)

    async def _serve_data(
        self, req: _Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        stats = self._stats
        with stats.lock:
            self._seq += 1
            no = self._seq
            stats.requests += 1
            stats.inflight += 1
            stats.max_inflight = max(stats.max_inflight, stats.inflight)
            stats.hosts[req.headers.get("host", "")] += 1
        entry: dict[str, Any] = {
            "no": no,
            "method": req.method,
            "target": req.target,
            "connection": id(writer),
            "received": time.monotonic(),
        }
        try:
            try:
                response, fault = self._decide(req, no)
            except Exception as exc:  # noqa: BLE001 - a bug in the fake answers 500, not a hang
                traceback.print_exc()
                response, fault = _error(500, f"fake GitHub bug: {exc!r}"), None
            entry["endpoint"] = response.endpoint
            entry["fault"] = fault
            delay = self.settings.latency + (self.settings.slow_seconds if fault == "slow" else 0.0)
            # The answer leaves ``delay`` after the request came in: the time the fake spent
            # building it is part of that latency, not added to it.
            delay -= time.monotonic() - entry["received"]
            if delay > 0 and not await self._sleep_unless_gone(delay, reader):
                entry["status"] = None  # the client hung up before the answer
                return False
            if fault == "reset":
                entry["status"] = None
                _reset(writer)
                return False
            if fault == "truncate":
                entry["status"] = response.status
                await self._write(writer, response, keep=False, truncate=True)
                return False
            if fault == "eof":
                entry["status"] = response.status
                await self._write(writer, response, keep=False, close_delimited=True)
                return False
            if fault == "trickle":
                entry["status"] = response.status
                await self._write(writer, response, keep=req.keep_alive, head_only=True)
                return await self._trickle(response.body, reader, writer) and req.keep_alive
            entry["status"] = response.status
            await self._write(writer, response, keep=req.keep_alive)
            return req.keep_alive
        finally:
            entry["answered"] = time.monotonic()
            with stats.lock:
                stats.inflight -= 1
                stats.by_endpoint[str(entry.get("endpoint", "unknown"))] += 1
                self._log.append(entry)

    def _decide(self, req: _Request, no: int) -> tuple[_Response, str | None]:
        """Auth → secondary limit → primary limit → fault → route → the fault reshapes the
        answer → rate headers. Runs on the loop thread."""
        s = self.settings
        stats = self._stats
        if _token(req.headers.get("authorization", "")) != s.token:
            with stats.lock:
                stats.bad_auth += 1
            response = _error(401, "Bad credentials")
            response.headers += self._rate_headers()
            return response, None
        if s.max_concurrent is not None and stats.inflight > s.max_concurrent:
            with stats.lock:
                stats.secondary_limited += 1
            response = _error(403, SECONDARY_MESSAGE)
            response.headers += [
                ("Retry-After", str(s.secondary_retry_after)),
                *self._rate_headers(),
            ]
            return response, None
        if req.path.rstrip("/") == "/rate_limit":  # as GitHub: asking costs nothing
            core = {**self._rate.snapshot(), "resource": "core"}
            response = _json(
                200, {"resources": {"core": core}, "rate": core}, endpoint="rate_limit"
            )
            response.headers += self._rate_headers()
            return response, None
        if not self._rate.take():
            with stats.lock:
                stats.rate_limited += 1
            response = _error(
                s.rate_limit_status, f"API rate limit exceeded for user ID {TOKEN_USER_ID}."
            )
            response.headers += self._rate_headers()
            return response, None
        fault = self._pick_fault(req, no)
        if fault is not None:
            with stats.lock:
                stats.faults[fault] += 1
        if fault in ("500", "502", "503"):
            status = int(fault)
            response = _json(status, {"message": _REASONS[status]})
        else:
            assert self._api is not None
            response = self._api.handle(_first_page(req) if fault == "stuck" else req)
            if fault == "badjson":
                response = _Response(
                    200, b'[{"id": 1, "title": "cut here', endpoint=response.endpoint
                )
            elif fault is not None:
                response = self._api.misbehave(fault, req, response)
        response.headers += self._rate_headers()
        return response, fault

    def _rate_headers(self) -> list[tuple[str, str]]:
        """The x-ratelimit-* headers of an answer: none when ``rate_headers`` is off."""
        return self._rate.headers() if self.settings.rate_headers else []

    def _pick_fault(self, req: _Request, no: int) -> str | None:
        s = self.settings
        # one draw per data request, always, so the sequence depends only on request numbers
        drawn = self._rng.random()
        pick = self._rng.choice(s.fault_kinds) if s.fault_kinds else None
        if no in s.faults:
            return s.faults[no]
        with self._inject_lock:
            for injection in self._injections:
                if injection.match is None or injection.match in req.target:
                    injection.times -= 1
                    if injection.times <= 0:
                        self._injections.remove(injection)
                    return injection.kind
        if drawn < s.fault_rate:
            return pick
        return None

    async def _write(
        self,
        writer: asyncio.StreamWriter,
        response: _Response,
        *,
        keep: bool,
        truncate: bool = False,
        close_delimited: bool = False,
        head_only: bool = False,
        count: bool = True,
    ) -> None:
        """Write the answer: its head, then its body — half of it (``truncate``), none of it
        (``head_only``: the caller sends it), or no Content-Length at all
        (``close_delimited``: the body, if any, ends where the connection does)."""
        status = response.status
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
            "Server: fake-github",
            f"Date: {self._http_date()}",
            f"Content-Type: {_JSON}",
        ]
        if status != 204 and not close_delimited:  # a 204 has no body to measure
            lines.append(f"Content-Length: {len(response.body)}")
        lines += [
            f"Connection: {'keep-alive' if keep and not close_delimited else 'close'}",
            f"X-GitHub-Request-Id: FAKE:{self.port:04X}:{next(self._response_ids):08X}",
            "X-GitHub-Media-Type: github.v3; format=json",
        ]
        lines += [f"{k}: {v}" for k, v in response.headers]
        if head_only:
            body = b""
        elif truncate:
            body = response.body[: len(response.body) // 2]
        else:
            body = response.body
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if len(body) < 65536:
            writer.write(head + body)
        else:  # a big page is not copied just to glue the head on
            writer.write(head)
            writer.write(body)
        await writer.drain()
        if count:
            with self._stats.lock:
                self._stats.by_status[str(status)] += 1

    async def _trickle(
        self, body: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Send ``body`` one byte every ``trickle_seconds`` (the pause comes before each byte).

        False — stop, the connection is done — as soon as the client hangs up or the server
        stops; nothing is written to a closing connection (asyncio would warn for each write).
        """
        pause = self.settings.trickle_seconds
        for i in range(len(body)):
            if pause > 0:
                if not await self._sleep_unless_gone(pause, reader):
                    return False
            else:
                await asyncio.sleep(0)  # one byte per loop turn: the other clients go on
            if self._closing.is_set() or writer.is_closing():
                return False
            writer.write(body[i : i + 1])
            await writer.drain()
        return True

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, email.utils.formatdate(now, usegmt=True))
        return self._date[1]

    # --- /_fake/* --------------------------------------------------------------------------

    def _introspect(self, req: _Request) -> _Response:
        path = req.path if req.path.startswith("/_fake/") else req.target.partition("?")[0]
        p = req.params
        try:
            if path == "/_fake/stats" and req.method == "GET":
                return _json(200, self.stats())
            if path == "/_fake/reset-stats" and req.method == "POST":
                self.reset_stats()
                return _json(200, {"ok": True})
            if path == "/_fake/log" and req.method == "GET":
                return _json(200, self.log())
            if path == "/_fake/totals" and req.method == "GET":
                return _json(200, self.data.totals())
            if path == "/_fake/inject" and req.method == "POST":
                self.inject(
                    p.get("kind", ""), match=p.get("match") or None, times=_int(p.get("times"), 1)
                )
                return _json(200, {"ok": True})
            if path == "/_fake/expected" and req.method == "GET":
                if "since" not in p or "until" not in p:
                    return _error(400, "since and until are required (ISO 8601)")
                visibility = p.get("visibility", "all")
                if visibility not in ("all", "public", "private"):
                    return _error(400, "visibility must be all, public or private")
                return _json(
                    200,
                    self.expected(
                        parse_moment(p["since"]),
                        parse_moment(p["until"]),
                        include_forks=p.get("include_forks", "0") in ("1", "true"),
                        include_archived=p.get("include_archived", "0") in ("1", "true"),
                        visibility="public"
                        if visibility == "public"
                        else "private"
                        if visibility == "private"
                        else "all",
                    ),
                )
        except ValueError as exc:
            return _error(400, str(exc))
        return _not_found()


def _parse(head: bytes, prefix: str) -> _Request | None:
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ", 2)
    except ValueError:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if target.startswith(("http://", "https://")):  # absolute-form: keep path and query
        target = "/" + target.split("/", 3)[3] if target.count("/") >= 3 else "/"
    raw_path, _, query_text = target.partition("?")
    if prefix:
        path = (
            raw_path[len(prefix) :] if raw_path.startswith(prefix + "/") else "/\x00outside-prefix"
        )
    else:
        path = raw_path
    query = parse_qsl(query_text, keep_blank_values=True)
    connection = headers.get("connection", "").lower()
    keep = connection != "close" if version == "HTTP/1.1" else connection == "keep-alive"
    return _Request(method, target, path, query, dict(query), headers, keep)


def _token(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


def _reset(writer: asyncio.StreamWriter) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed proxy would."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


# --- command line ---------------------------------------------------------------------------


def _indexes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


def _fault_map(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for item in text.split(","):
        if item.strip():
            number, _, kind = item.partition("=")
            out[int(number)] = kind.strip()
    return out


def _fault_table() -> str:
    """The --help epilog: every fault kind and what it does."""
    width = max(len(k) for k in FAULT_KINDS)
    rows = [f"  {kind:<{width}}  {FAULT_MEANINGS[kind]}" for kind in FAULT_KINDS]
    return "\n".join(
        [
            "fault kinds (for --faults, --fault-kinds and POST /_fake/inject?kind=):",
            *rows,
            f"--fault-rate draws from --fault-kinds (default {','.join(DEFAULT_FAULT_KINDS)}).",
        ]
    )


def _parser() -> argparse.ArgumentParser:
    d = FakeSettings()
    ap = argparse.ArgumentParser(
        prog="python -m gh_year_end.testing.fakegithub",
        description="Serve a fake GitHub REST API on 127.0.0.1 until SIGINT/SIGTERM.",
        epilog=_fault_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    ap.add_argument("--port-file", type=Path, help="also write the base URL to this file")
    ap.add_argument("--owner", default=d.owner)
    ap.add_argument("--mode", choices=("org", "user"), default=d.mode)
    ap.add_argument("--repos", type=int, default=d.repos)
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--pulls", type=int, default=d.pulls, help="pull requests per repo")
    ap.add_argument("--issues", type=int, default=d.issues, help="issues (not PRs) per repo")
    ap.add_argument("--issue-comments", type=int, default=d.issue_comments, help="per repo")
    ap.add_argument("--review-comments", type=int, default=d.review_comments, help="per repo")
    ap.add_argument("--reviews-per-pull", type=float, default=d.reviews_per_pull, help="average")
    ap.add_argument("--commits", type=int, default=d.commits, help="per repo")
    for flag, value in (
        ("forks", d.forks),
        ("archived", d.archived),
        ("private", d.private),
        ("not-found", d.not_found),
        ("blocked", d.blocked),
        ("forbidden", d.forbidden),
        ("empty", d.empty),
    ):
        ap.add_argument(
            f"--{flag}", type=_indexes, default=value, help="repo indexes, e.g. 1,7 ('' for none)"
        )
    ap.add_argument("--token", default=d.token)
    ap.add_argument("--prefix", default=d.prefix, help="path prefix, e.g. /api/v3")
    ap.add_argument("--latency", type=float, default=d.latency, help="seconds per response")
    ap.add_argument("--rate-limit", type=int, default=d.rate_limit, help="requests per window")
    ap.add_argument("--rate-window", type=float, default=d.rate_window, help="seconds")
    ap.add_argument(
        "--rate-limit-status", type=int, choices=(403, 429), default=d.rate_limit_status
    )
    ap.add_argument("--max-concurrent", type=int, default=None, help="secondary limit: in flight")
    ap.add_argument("--secondary-retry-after", type=int, default=d.secondary_retry_after)
    ap.add_argument(
        "--no-rate-headers",
        dest="rate_headers",
        action="store_false",
        help="send no x-ratelimit-* header on any answer (the limit still applies)",
    )
    ap.add_argument(
        "--fault-rate", type=float, default=d.fault_rate, help="share of data requests faulted"
    )
    ap.add_argument(
        "--fault-kinds",
        type=lambda t: tuple(k for k in t.split(",") if k),
        default=d.fault_kinds,
        help="comma-separated kinds --fault-rate draws from (see the fault kinds below)",
    )
    ap.add_argument(
        "--faults",
        type=_fault_map,
        default={},
        help="request number=kind, e.g. 3=reset,9=empty (see the fault kinds below)",
    )
    ap.add_argument(
        "--slow-seconds", type=float, default=d.slow_seconds, help="extra delay of a slow fault"
    )
    ap.add_argument(
        "--trickle-seconds",
        type=float,
        default=d.trickle_seconds,
        help="pause before each body byte of a trickle fault",
    )
    ap.add_argument("--link-base-url", default=None, help="origin+prefix written in Link headers")
    return ap


def settings_from_args(argv: Sequence[str] | None = None) -> tuple[FakeSettings, Path | None]:
    """Parse the command line into settings (and the --port-file path)."""
    a = _parser().parse_args(argv)
    settings = FakeSettings(
        owner=a.owner,
        mode=a.mode,
        repos=a.repos,
        seed=a.seed,
        pulls=a.pulls,
        issues=a.issues,
        issue_comments=a.issue_comments,
        review_comments=a.review_comments,
        reviews_per_pull=a.reviews_per_pull,
        commits=a.commits,
        forks=a.forks,
        archived=a.archived,
        private=a.private,
        not_found=a.not_found,
        blocked=a.blocked,
        forbidden=a.forbidden,
        empty=a.empty,
        token=a.token,
        prefix=a.prefix.rstrip("/"),
        port=a.port,
        latency=a.latency,
        rate_limit=a.rate_limit,
        rate_window=a.rate_window,
        rate_limit_status=a.rate_limit_status,
        max_concurrent=a.max_concurrent,
        secondary_retry_after=a.secondary_retry_after,
        fault_rate=a.fault_rate,
        fault_kinds=a.fault_kinds,
        faults=a.faults,
        slow_seconds=a.slow_seconds,
        link_base_url=a.link_base_url,
        rate_headers=a.rate_headers,
        trickle_seconds=a.trickle_seconds,
    )
    return settings, a.port_file


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; print the one "listening" line first. Exit status 0."""
    try:
        settings, port_file = settings_from_args(argv)
    except ValueError as exc:
        print(f"fakegithub: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fake = FakeGitHub(settings)
    try:
        fake.start()
    except OSError as exc:
        print(
            f"fakegithub: cannot listen on 127.0.0.1:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    with fake:
        if port_file is not None:  # before the line: whoever read the line can read the file
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(fake.base_url + "\n", encoding="utf-8")
            os.replace(tmp, port_file)  # readers never see a half-written URL
        print(f"fake GitHub listening on {fake.base_url}", flush=True)
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
