"""The fake GitHub server (:class:`FakeGitHub`): its lifecycle, and the pipeline each request
goes through.

Request pipeline of a data route (anything not under ``/_fake/``), in this order:
who (the token's account, or 401) → secondary limit (403 + Retry-After) → primary limit
(403/429) → fault pick → route (a "stuck" fault routes as if ``page`` and ``since`` were not
asked) → the fault reshapes the answer → x-ratelimit-* headers (unless ``rate_headers`` is
off) → the answer is written
``latency`` (+ ``slow_seconds`` for a "slow" fault) after the request came in — the fake's own
work counts towards that time — whole, or as the fault says: "reset" drops the connection,
"truncate" sends half the promised body, "eof" sends a close-delimited head and hangs up,
"trickle" sends the body one byte every ``trickle_seconds``.

Who: :mod:`.callers` finds the account whose budget a request spends (or the 401 refusing it).
The secondary limit counts each account's requests in flight. The App routes (``GET /app``,
``GET /orgs/{org}/installation``, ``GET /users/{user}/installation``, ``POST
/app/installations/{id}/access_tokens``) take a JWT instead, verified as GitHub does (a flaw:
GitHub's 401 or 404 for it, no route, no fault), and then go through the same pipeline on the
App's own budget. Each log entry names the account (``account``: its login, "installation N",
"app N") and the credential (``credential``: "token", "tokens[i]", "installation token",
"jwt", "unknown", "expired installation token"; never the secret); ``stats()["by_account"]``
counts the authenticated requests per account, ``app_exchanges`` the tokens issued.

GraphQL (``POST /graphql``; with the GHES prefix ``/api/v3``, ``POST /api/graphql``; see
:func:`.callers.graphql_path`) goes through the same pipeline with three differences: the
primary limit is not taken on admission — :class:`.graphql_api.GraphQLApi` takes the query's
points from the "graphql" window once it knows its cost, and answers 200 with a
``RATE_LIMITED`` error past it; the x-ratelimit-* headers are the "graphql" window's
(``x-ratelimit-resource: graphql``); the 401 names GraphQL's documentation. The body is read
into :attr:`.wire.Request.body`. Every fault kind applies to a GraphQL request; those that
reshape a list page ("stuck", "cycle", "null-item", "string-item", "list-id", "hostile-name")
find none and leave the answer be. The server errors ("500", "502", "503") replace the answer
before it is routed (nothing is spent); the others route it first (its points are spent).
With ``graphql`` off, or without graphql-core installed, the path is just another unknown
route (404; 501 naming graphql-core when it is missing).

ETags and 304s on the REST routes, a 304 spending no "core" budget: :mod:`.etags`. The data
changes while served through :meth:`FakeGitHub.mutate` (:mod:`.mutate`), on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import threading
import time
import traceback
from collections.abc import Callable, Collection
from datetime import datetime
from types import TracebackType
from typing import Any, Unpack

from gh_year_end.testing.fakegithub import control
from gh_year_end.testing.fakegithub.accounts import Account, Accounts
from gh_year_end.testing.fakegithub.api import Api
from gh_year_end.testing.fakegithub.apps import FakeApp
from gh_year_end.testing.fakegithub.callers import Callers, graphql_path, graphql_route
from gh_year_end.testing.fakegithub.data import TOKEN_USER_LOGIN, FakeData, Visibility
from gh_year_end.testing.fakegithub.etags import conditional
from gh_year_end.testing.fakegithub.faults import FaultPicker, faulted_answer
from gh_year_end.testing.fakegithub.limits import Limits
from gh_year_end.testing.fakegithub.mutate import Mutation, MutationArgs, apply
from gh_year_end.testing.fakegithub.records import Records
from gh_year_end.testing.fakegithub.settings import FakeSettings
from gh_year_end.testing.fakegithub.wire import (
    Request,
    Response,
    ResponseWriter,
    Waker,
    error_response,
    parse_request,
    reset_connection,
    to_int,
    trickle,
)

_BACKLOG = 512


class FakeGitHub:
    """The fake GitHub server. ``start()`` binds 127.0.0.1 and serves from a background thread."""

    def __init__(
        self, settings: FakeSettings | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings or FakeSettings()
        self.data = FakeData(self.settings)
        s = self.settings
        self._stats = control.Stats(s.log_size)
        self._clock = clock
        self._limits = Limits(s, clock, self._stats)
        self._accounts = Accounts(
            s.token, s.tokens, primary_login=s.owner if s.mode == "user" else TOKEN_USER_LOGIN
        )
        self._app: FakeApp | None = None
        self._faults = FaultPicker(s.faults, s.fault_rate, s.fault_kinds, s.seed)
        self._seq = 0
        self._callers: Callers | None = None
        self._graphql_path = graphql_path(s.prefix) if s.graphql else None
        self._wire: ResponseWriter | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._waker = Waker()
        self._writers: set[asyncio.StreamWriter] = set()
        self._startup_error: BaseException | None = None

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
        connection (an id per client connection), received and answered (``time.monotonic()``:
        when the answer was handed to the connection; a trickle's, when it ended);
        a request with a body (a GraphQL query) also has body_digest, the first 16 hex digits
        of its sha256, and operation, the query's operation name (None: an anonymous one) —
        every GraphQL request has the target /graphql."""
        with self._stats.lock:
            return list(self._stats.log)

    def inject(self, kind: str, *, match: str | None = None, times: int = 1) -> None:
        """Fail the next ``times`` data requests whose target contains ``match`` with ``kind``."""
        self._faults.inject(kind, match=match, times=times)

    def installation_tokens(self) -> list[str]:
        """Every installation token the App issued so far (for tests that look for leaks)."""
        return self._app.issued() if self._app is not None else []

    def clear_faults(self) -> None:
        """Forget every injected fault not used up yet (``settings.faults`` stay)."""
        self._faults.clear()

    def mutate(self, **params: Unpack[MutationArgs]) -> dict[str, Any]:
        """Change the data while it is served, at the clock's now — see :mod:`.mutate` for the
        parameters and what each change does; the summary of what changed. Runs on the
        server's loop (this waits for it) so no answer is built from half a change."""
        change = functools.partial(apply, self.data, Mutation(**params))
        if self._loop is None or threading.current_thread() is self._thread:
            return change(self._clock())

        async def on_loop() -> dict[str, Any]:
            return change(self._clock())

        return asyncio.run_coroutine_threadsafe(on_loop(), self._loop).result()

    def expected(
        self,
        since: datetime,
        until: datetime,
        *,
        include_forks: bool = False,
        include_archived: bool = False,
        visibility: Visibility = "all",
        extra: Collection[str] = (),
    ) -> dict[str, Any]:
        """What a correct collection of [since, until) holds, by the window rule.

        ``{"repos": [full names kept by the discovery filters, by name],
        "units": {full_name: {"pulls": [ids], "issues": [ids], "issue_comments": [ids],
        "review_comments": [ids], "reviews": [ids], "commits": [shas]}},
        "unavailable": {full_name: 404|451|403}, "empty": [full names], "since", "until"}``.
        Every kept repo has a units entry; repos that answer 404/451/403 and empty repos have
        empty lists (their data cannot be collected). Ids ascend; compare as sets.

        ``extra`` adds what GraphQL alone collects to each unit (:data:`.data.EXTRA_ENDPOINTS`):
        ``"repo_health"`` — ``[full_name]`` for a repo that answers (an empty one too: its
        health says ``isEmpty``), ``[]`` for a 404/451/403 one; ``"commit_stats"`` — the
        window's commit shas, the same as ``"commits"``.
        """
        return self.data.expected(
            since,
            until,
            include_forks=include_forks,
            include_archived=include_archived,
            visibility=visibility,
            extra=extra,
        )

    # --- the event loop thread -------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._waker = Waker()  # one per loop: an Event binds to the loop that uses it
        try:
            try:
                server = loop.run_until_complete(
                    asyncio.start_server(
                        self._on_connection, "127.0.0.1", self.settings.port, backlog=_BACKLOG
                    )
                )
            except OSError as exc:
                self._startup_error = exc
                ready.set()
                return
            self._port = int(server.sockets[0].getsockname()[1])
            s = self.settings
            link_base = s.link_base_url or self.base_url
            records = Records(self.data, self.base_url)
            self._app = FakeApp(s, self._clock, self._stats, records.owner(), self.base_url)
            graphql = None
            if self._graphql_path is not None:
                graphql = graphql_route(self.data, records, self._limits, s)
            self._callers = Callers(
                accounts=self._accounts,
                app=self._app,
                limits=self._limits,
                stats=self._stats,
                api=conditional(
                    Api(self.data, records, link_base, self._accounts).handle, self._limits
                ),
                graphql=graphql,
            )
            self._wire = ResponseWriter(self._port)
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
        self._waker.closing.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        await server.wait_closed()

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
            await self._send(writer, error_response(431, "Request header too large"), keep=False)
            return False
        req = parse_request(head, self.settings.prefix)
        if req is None:
            await self._send(writer, error_response(400, "Bad request line"), keep=False)
            return False
        length = to_int(req.headers.get("content-length"), 0)
        if length > 0:
            req.body = await reader.readexactly(length)
        if "transfer-encoding" in req.headers:
            await self._send(
                writer, error_response(400, "chunked request bodies are not supported"), keep=False
            )
            return False
        if control.is_control(req):
            await self._send(writer, control.answer(self, req), keep=req.keep_alive, count=False)
            return req.keep_alive
        return await self._serve_data(req, reader, writer)

    async def _serve_data(
        self, req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
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
        if req.body:  # GraphQL queries share one target: their bodies tell them apart
            entry["body_digest"] = hashlib.sha256(req.body).hexdigest()[:16]
            entry["operation"] = operation_name(req.body)
        logged = False
        account: Account | None = None
        try:
            try:
                response, fault, account, credential = self._decide(req, no)
            except Exception as exc:  # noqa: BLE001 - a bug in the fake answers 500, not a hang
                traceback.print_exc()
                response, fault = error_response(500, f"fake GitHub bug: {exc!r}"), None
                account, credential = req.caller, None  # entered, if it got that far
            entry.update(
                endpoint=response.endpoint,
                fault=fault,
                account=account.label if account is not None else None,
                credential=credential,
            )
            s = self.settings
            delay = s.latency + (s.slow_seconds if fault == "slow" else 0.0)
            # The answer leaves ``delay`` after the request came in: the time the fake spent
            # building it is part of that latency, not added to it.
            delay -= time.monotonic() - entry["received"]
            if delay > 0 and not await self._waker.sleep_unless_gone(delay, reader):
                entry["status"] = None  # the client hung up before the answer
                return False
            if fault == "reset":
                entry["status"] = None
                reset_connection(writer)
                return False
            entry["status"] = response.status
            if fault == "trickle":
                await self._send(writer, response, keep=req.keep_alive, head_only=True)
                done = await trickle(response.body, s.trickle_seconds, reader, writer, self._waker)
                return done and req.keep_alive
            # Logged before its bytes leave: a client that has read its answer finds it in
            # log() and stats() (a trickle is logged once it ends, or its client leaves).
            self._log(entry)
            logged = True
            if fault == "truncate":
                await self._send(writer, response, keep=False, truncate=True)
                return False
            if fault == "eof":
                await self._send(writer, response, keep=False, close_delimited=True)
                return False
            await self._send(writer, response, keep=req.keep_alive)
            return req.keep_alive
        finally:
            if not logged:
                self._log(entry)
            if account is not None:
                self._limits.leave(account)
            with stats.lock:
                stats.inflight -= 1

    def _log(self, entry: dict[str, Any]) -> None:
        """Put a request's entry in the log (its answer handed over now) and count its endpoint."""
        entry["answered"] = time.monotonic()
        with self._stats.lock:
            self._stats.by_endpoint[str(entry.get("endpoint", "unknown"))] += 1
            self._stats.log.append(entry)

    def _decide(
        self, req: Request, no: int
    ) -> tuple[Response, str | None, Account | None, str | None]:
        """Who → limits → fault → route → the fault reshapes the answer → rate headers.

        Returns the answer, its fault, the account whose budget it spent (None when refused
        before one was known) and how the log names the credential. An account returned has a
        request in flight until the caller hands it to :meth:`Limits.leave`. Runs on the loop
        thread."""
        limits = self._limits
        graphql = self._graphql_path is not None and req.raw_path == self._graphql_path
        assert self._callers is not None
        found, credential, route = self._callers.identify(req, graphql=graphql)
        if isinstance(found, Response):
            return found, None, None, credential
        account = found
        req.caller = account
        limits.enter(account)
        with self._stats.lock:
            self._stats.by_account[account.label] += 1
        refused = limits.admit(req, account, graphql=graphql)
        if refused is not None:
            return refused, None, account, credential
        fault = self._faults.pick(req.target, no)
        if fault is None:
            response = route(req)
        else:
            with self._stats.lock:
                self._stats.faults[fault] += 1
            response = faulted_answer(fault, req, route)
        response.headers += limits.headers(account, graphql=graphql)
        return response, fault, account, credential

    async def _send(
        self,
        writer: asyncio.StreamWriter,
        response: Response,
        *,
        keep: bool,
        count: bool = True,
        truncate: bool = False,
        close_delimited: bool = False,
        head_only: bool = False,
    ) -> None:
        """Write ``response`` (see :meth:`ResponseWriter.write`); count its status first, so a
        client that has read the answer finds it counted."""
        assert self._wire is not None
        if count:
            with self._stats.lock:
                self._stats.by_status[str(response.status)] += 1
                self._stats.not_modified += response.status == 304
        await self._wire.write(
            writer,
            response,
            keep=keep,
            truncate=truncate,
            close_delimited=close_delimited,
            head_only=head_only,
        )


_OPERATION = re.compile(rb'"query"\s*:\s*"\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)')


def operation_name(body: bytes) -> str | None:
    """A GraphQL request's operation name (``query Reviews(…)`` → "Reviews"), read off the
    body's start without parsing it whole (None: anonymous, or not a query)."""
    found = _OPERATION.search(body[:512])
    return found.group(1).decode() if found else None
