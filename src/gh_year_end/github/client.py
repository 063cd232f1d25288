"""RestClient: one page of GitHub's REST API per call, under its rate limits, with retries.

``get_page(url)`` sends one GET (through the shared :class:`~.ratelimit.Limiter`), retries what is
worth retrying, waits out rate limits, and returns the page's records, the verbatim
``Link: rel="next"`` URL and the response's metadata — or raises one of the errors of
:mod:`gh_year_end.errors`. The token goes only to the configured API's origin, and appears in no
message, log line or repr.
"""

from __future__ import annotations

import asyncio
import logging
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
    ForeignNextLink,
)
from gh_year_end.github.answers import (
    Page,
    PageMeta,
)
from gh_year_end.github.auth import run_credentials
from gh_year_end.github.credentials import Credential, StaticToken
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
    Limiter,
    RateLimitState,
)
from gh_year_end.github.retry import RATE_LIMIT_RETRIES, Retrier
from gh_year_end.github.tokens import resolve_token, token_variable
from gh_year_end.github.transport import pooled_transport

logger = logging.getLogger(__name__)


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
        shared = transport or pooled_transport(config.rate_limit.max_concurrency, proxy)
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
    ) -> Page:
        """GET one page of a list endpoint.

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
            url, params, empty_on_409=empty_on_409, key=key
        )
        if body is None:
            return Page([], None, meta)
        nxt = next_link(link)
        if nxt is not None and not is_absolute(nxt):
            nxt = urljoin(meta.url, nxt)
        if nxt is not None and self._origin.holds(nxt) and self._scrub(nxt) != nxt:
            # A next link is committed to the checkpoint: one carrying a credential (echoed by
            # a proxy, as GitHub once did with ?access_token=) is never followed nor stored.
            # (One to another origin is refused when followed, as ForeignNextLink says.)
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

    async def check_accounts(self) -> None:
        """With several credentials: whose budget each one spends — GET /user for a token, the
        installation for an App — so two of one account (one budget) are noticed, reported, and
        only one of them used. A credential GitHub refuses here is dropped with a warning
        (AuthenticationFailed when none is left). One request per token; nothing with one."""
        if len(self._pool.live) < 2:
            return
        for lane in list(self._pool.live):
            if lane.dropped is not None:
                continue
            if isinstance(lane.credential, StaticToken):
                body, _, _ = await self._exchange.request(
                    "/user", None, empty_on_409=False, expect="object", lane=lane
                )
                if lane.dropped is not None:  # refused (401): dropped meanwhile
                    continue
                account = f"user {body.get('login')} (id {body.get('id')})"
            else:
                await lane.credential.authorization()  # an App learns its installation
                account = lane.label
            self._pool.note_account(lane, account)

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
        for secret in self._pool.secrets():
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


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
