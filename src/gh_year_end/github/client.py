"""RestClient: GitHub's API for the collector — a page of a REST list, a JSON object, a GraphQL
query — under the credentials' rate limits, with retries.

``get_page(url)`` returns a page's records, the verbatim ``Link: rel="next"`` URL (checked: of
api_url's origin, holding no credential) and the response's metadata; ``graphql(document,
variables)`` a GraphQL answer's data and errors; ``check_accounts()`` notices two credentials of
one account. Every request goes through :class:`~.exchange.Exchange` (the credential pool, the
limiters, retries, waits, redirects) or raises one of the errors of :mod:`gh_year_end.errors`.
Credentials go only to the configured API's origin, and appear in no message, log line or repr.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson

from gh_year_end.config import Config, RateLimitConfig
from gh_year_end.errors import (
    AuthenticationFailed,
    Forbidden,
    ForeignNextLink,
    Unavailable,
)
from gh_year_end.github.answers import (
    Page,
    PageMeta,
)
from gh_year_end.github.auth import run_credentials
from gh_year_end.github.credentials import Credential, StaticToken, scrub
from gh_year_end.github.exchange import API_VERSION, USER_AGENT, Exchange
from gh_year_end.github.graphql import (
    GraphQLAnswer,
    graphql_url,
    read_errors,
)
from gh_year_end.github.links import is_absolute, next_link
from gh_year_end.github.origin import ApiOrigin
from gh_year_end.github.pool import CredentialPool
from gh_year_end.github.proxy import proxy_for
from gh_year_end.github.ratelimit import (
    CORE,
    GRAPHQL,
    Limiter,
    RateLimitState,
)
from gh_year_end.github.retry import RATE_LIMIT_RETRIES, Retrier
from gh_year_end.github.tokens import resolve_token, token_variable
from gh_year_end.github.transport import pooled_transport


@dataclass(frozen=True)
class ClientStats:
    """Counters since the client was made (a snapshot).

    ``waited_seconds`` counts a pause every worker shared once, plus each retry's backoff.
    """

    requests: int
    responses: dict[int, int]
    retries: int
    rate_limit_hits: int
    secondary_hits: int
    waited_seconds: float
    max_in_flight: int
    by_resource: dict[str, int]
    """Requests sent per budget (``core``: REST, ``graphql``: GraphQL queries)."""


class RestClient:
    """GitHub REST client: one pooled httpx transport, a shared Limiter, retries, errors.

    Safe to share between the asyncio tasks of one event loop.
    """

    def __init__(
        self,
        *,
        api_url: str,
        token: str | None = None,
        rate: RateLimitConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[str, float], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
        proxy: str | None = None,
        token_name: str = "GITHUB_TOKEN",  # noqa: S107 — a variable name, not a secret
        credentials: Sequence[Credential] | None = None,
    ) -> None:
        # ``token`` (named ``token_name`` in messages) or ``credentials``: who ghye is to GitHub.
        if credentials is None:
            if token is None:
                raise ValueError("a RestClient needs a token or credentials")
            credentials = [StaticToken(token, token_name)]
        self._rng = rng if rng is not None else random.Random()
        self._pool = CredentialPool(
            credentials,
            lambda: Limiter(
                max_concurrency=rate.max_concurrency,
                points_per_minute=rate.points_per_minute,
                reset_margin=rate.reset_margin_seconds,
                clock=clock,
                sleep=sleep,
                on_wait=on_wait,
            ),
            sleep=sleep,
            on_warning=on_warning,
        )
        self._origin = ApiOrigin(api_url, scrub=self._scrub)
        self._graphql = self._origin.resolve(graphql_url(self._origin.base))
        # Requests go straight to one pooled httpx transport (a given ``transport`` — tests —
        # replaces it, and ``proxy`` with it): ghye follows redirects itself, keeps no cookies
        # and needs no auth flow, so AsyncClient's layer (URL merging, cookie jar, hooks) would
        # only cost CPU on every page.
        self._transport = transport or pooled_transport(rate.max_concurrency, proxy)
        self._retrier = Retrier(
            rate, sleep=sleep, clock=clock, rng=self._rng, scrub=self._scrub, on_wait=on_wait
        )
        self._exchange = Exchange(
            origin=self._origin,
            pool=self._pool,
            transport=self._transport,
            rate=rate,
            retrier=self._retrier,
        )

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        environ: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[str, float], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        rng: random.Random | None = None,
    ) -> RestClient:
        """A client for ``config``'s API and credentials (``environ`` holds the tokens and App
        keys; TokenMissing names the variable to set when one is missing)."""
        proxy = proxy_for(config.github.api_url, environ)
        auth = config.github.auth
        # Each credential may have max_concurrency requests out; an App's token exchange too.
        connections = config.rate_limit.max_concurrency * (len(auth.token_env) + len(auth.apps))
        shared = transport or pooled_transport(connections + len(auth.apps), proxy)
        credentials = run_credentials(config, environ, transport=shared, clock=clock, sleep=sleep)
        return cls(
            api_url=config.github.api_url,
            rate=config.rate_limit,
            transport=shared,
            sleep=sleep,
            clock=clock,
            on_wait=on_wait,
            on_warning=on_warning,
            rng=rng,
            credentials=credentials,
        )

    def __repr__(self) -> str:
        return f"RestClient(api_url={self._origin.base!r})"

    # --- public API ----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The API base URL, path prefix kept, no trailing slash."""
        return self._origin.base

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        exchange = self._exchange
        return ClientStats(
            requests=exchange.requests,
            responses=dict(exchange.responses),
            retries=self._retrier.retries,
            rate_limit_hits=self._retrier.rate_limit_hits,
            secondary_hits=self._retrier.secondary_hits,
            waited_seconds=self._pool.paused_seconds + self._retrier.backoff_seconds,
            max_in_flight=self._pool.max_in_flight,
            by_resource=dict(exchange.by_resource),
        )

    @property
    def rate_state(self) -> RateLimitState | None:
        """The latest known core budget, every credential's added up (for the display)."""
        return self._pool.budget(CORE)

    @property
    def pool(self) -> CredentialPool:
        """The run's credentials and their budgets."""
        return self._pool

    async def get_page(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        *,
        empty_on_409: bool = False,
        key: str | None = "id",
        if_none_match: str | None = None,
    ) -> Page:
        """GET one page of a list endpoint.

        ``if_none_match``: the ETag of an earlier answer for the same page; GitHub's ``304 Not
        Modified`` (free of the primary rate limit) is an empty page whose
        ``meta.not_modified`` is true.

        ``url`` is a path under api_url ("/repos/o/r/pulls"; the prefix is kept) or an absolute
        next URL from a previous page, followed verbatim after its origin is checked
        (ForeignNextLink otherwise, before anything is sent). ``empty_on_409``: a 409 (the commits
        of an empty repository) is an empty last page instead of an error.

        Only a JSON array of objects is a page (``[]`` is an empty one), each object holding a
        string or a number at ``key`` when ``key`` is given. Anything else in a 2xx answer — an
        empty body, ``null``, a 202 or 204, another JSON value, an item that is not a record —
        says nothing about the list: it is retried like a 5xx and, once the retries are spent,
        raised as TransientError naming the URL. A page is never taken as the last one because
        its answer was odd, and its ``Link: rel="next"`` is never dropped.
        """
        body, meta, link = await self._exchange.request(
            url, params, empty_on_409=empty_on_409, key=key, if_none_match=if_none_match
        )
        if body is None:
            return Page([], None, meta)
        nxt = next_link(link)
        if nxt is not None and not is_absolute(nxt):
            nxt = urljoin(meta.url, nxt)
        if nxt is not None:
            # A next link is committed to the checkpoint with this page: one to another origin,
            # or one carrying a credential (echoed by a proxy, as GitHub once did with
            # ?access_token=), is refused now — never followed, never stored.
            self._origin.check(nxt, "next link")
        if nxt is not None and self._scrub(nxt) != nxt:
            raise ForeignNextLink(
                f"GitHub's next link for {meta.url} carries the credential — not followed, so "
                "it is never sent again nor written to the checkpoint",
                url=meta.url,
            )
        return Page(body, nxt, meta)

    async def graphql(
        self, document: str, variables: Mapping[str, Any], *, shrinkable: bool = False
    ) -> GraphQLAnswer:
        """POST one GraphQL query to the API's GraphQL endpoint, under the ``graphql`` budget.

        Returns its data and errors (GitHub answers 200 for a query that failed in part or in
        whole: what the errors mean is the caller's to say). A RATE_LIMITED error waits for the
        budget's reset and asks again, as a primary limit does for REST. ``shrinkable``: a 502
        or 504 (GitHub gave up on a heavy query) raises QueryTooHeavy at once, so the caller
        asks for less, instead of retrying the same query.
        """
        content = orjson.dumps({"query": document, "variables": dict(variables)})
        body, meta, _ = await self._exchange.request(
            self._graphql,
            None,
            empty_on_409=False,
            expect="graphql",
            content=content,
            shrinkable=shrinkable,
        )
        data = body.get("data")
        return GraphQLAnswer(data if isinstance(data, dict) else None, read_errors(body), meta)

    async def get_object(self, path: str) -> dict[str, Any]:
        """GET one JSON object, e.g. ``/user`` or ``/orgs/{org}`` (an answer that is not an
        object is retried, then TransientError, as for :meth:`get_page`)."""
        body, _, _ = await self._exchange.request(path, None, empty_on_409=False, expect="object")
        if not isinstance(body, dict):  # _get checked it; this narrows the type
            raise AssertionError("an object was expected")
        return body

    async def check_accounts(self, *, own_repos_of: str | None = None) -> None:
        """With several credentials: whose budget each one spends — GET /user for a token, the
        installation for an App — so two of one account (one budget) are noticed, reported, and
        only one of them used. A credential GitHub refuses here is dropped with a warning
        (AuthenticationFailed when none is left). One request per token; nothing with one.

        ``own_repos_of``: a user whose repositories are collected — only that user's own
        credentials see their private repositories, so when one of them is in the pool, the
        others are not used (each said in a warning)."""
        if len(self._pool.live) < 2:
            return
        logins: dict[int, str] = {}
        for lane in list(self._pool.live):
            if lane.dropped is not None:
                continue
            if isinstance(lane.credential, StaticToken):
                try:
                    body, _, _ = await self._exchange.request(
                        "/user", None, empty_on_409=False, expect="object", lane=lane
                    )
                except (Forbidden, Unavailable) as exc:
                    # An installation token in a variable (GITHUB_TOKEN in GitHub Actions) has
                    # no user: it is kept, its account unknown.
                    self._pool.warn(
                        f"{lane.label}: GitHub does not say whose token it is ({exc.status} for "
                        "GET /user, as for an App's installation token) — it is used, but two "
                        "credentials of one account cannot be told apart"
                    )
                    continue
                if lane.dropped is not None:  # refused (401): dropped meanwhile
                    continue
                logins[id(lane)] = str(body.get("login", ""))
                account = f"user {body.get('login')} (id {body.get('id')})"
            else:
                try:
                    await lane.credential.authorization()  # an App learns its installation
                except AuthenticationFailed as exc:
                    self._pool.drop(lane, str(exc), error=exc)
                    continue
                account = lane.label
            self._pool.note_account(lane, account)
        if own_repos_of is None:
            return
        owner = own_repos_of.casefold()
        if not any(logins.get(id(lane), "").casefold() == owner for lane in self._pool.live):
            return
        for lane in list(self._pool.live):
            if logins.get(id(lane), "").casefold() != owner:
                self._pool.drop(
                    lane,
                    f"{lane.label} is not {own_repos_of}'s own credential: it cannot see "
                    f"{own_repos_of}'s private repositories, so it is not used",
                )

    async def read_budgets(self) -> None:
        """GET /rate_limit once per credential in use (free on GitHub: it spends no budget), so
        that every credential's ``core`` and ``graphql`` budgets are known before anything is
        sent (``pool.budgets(resource)``). A GitHub that does not serve it (404: rate limiting
        off on GitHub Enterprise Server) leaves them unknown."""
        for lane in list(self._pool.live):
            try:
                body, _, _ = await self._exchange.request(
                    "/rate_limit", None, empty_on_409=False, expect="object", lane=lane
                )
            except (Unavailable, Forbidden):
                continue
            resources = body.get("resources") if isinstance(body, dict) else None
            if not isinstance(resources, dict):
                continue
            for name in (CORE, GRAPHQL):
                state = _budget(resources.get(name), name)
                if state is not None:
                    lane.limiter.observe(state)

    async def get_pulls(self, repo: str, page: int = 1, per_page: int = 100) -> Page:
        """Page ``page`` of a repository's pull requests, all states (the seed's call)."""
        return await self.get_page(
            f"/repos/{repo}/pulls",
            {"state": "all", "per_page": per_page, "page": page},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._transport.aclose()

    async def __aenter__(self) -> RestClient:
        return self

    def _scrub(self, text: str) -> str:
        """``text`` without any credential of the pool (text from GitHub or httpx may echo
        one)."""
        return scrub(text, self._pool.secrets())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _budget(entry: Any, resource: str) -> RateLimitState | None:
    """One resource of GET /rate_limit's ``resources`` (None when it is not one)."""
    if not isinstance(entry, dict):
        return None
    values: list[int] = []
    for key in ("limit", "remaining", "reset"):
        value = entry.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        values.append(value)
    used = entry.get("used")
    limit, remaining, reset = values
    return RateLimitState(
        limit=limit,
        remaining=remaining,
        used=used if isinstance(used, int) else None,
        reset=float(reset),
        resource=resource,
    )


__all__ = [
    "API_VERSION",
    "RATE_LIMIT_RETRIES",
    "USER_AGENT",
    "ClientStats",
    "Page",
    "PageMeta",
    "RestClient",
    "resolve_token",
    "token_variable",
]
