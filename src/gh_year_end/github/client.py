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
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, NoReturn
from urllib.parse import urljoin

import httpx

from gh_year_end import __version__
from gh_year_end.config import Config, RateLimitConfig
from gh_year_end.errors import (
    GitHubError,
    PermanentError,
)
from gh_year_end.github.answers import (
    REQUEST_ID,
    Expect,
    Page,
    PageMeta,
    client_error,
    describe_failure,
    github_message,
    pick_headers,
    read_body,
)
from gh_year_end.github.links import is_absolute, next_link, without_credentials
from gh_year_end.github.origin import ApiOrigin
from gh_year_end.github.proxy import proxy_for
from gh_year_end.github.ratelimit import (
    CORE,
    Limiter,
    RateLimitState,
    parse_rate_headers,
)
from gh_year_end.github.retry import RATE_LIMIT_RETRIES, Retrier, Tries
from gh_year_end.github.tokens import check_token, resolve_token, token_variable
from gh_year_end.github.transport import fetch, pooled_transport

logger = logging.getLogger(__name__)

API_VERSION: Final = "2022-11-28"
USER_AGENT: Final = f"ghye/{__version__}"
#: Same-origin redirects followed for one request.
MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
# httpx failures worth retrying: timeouts, connection errors, truncated bodies
# (RemoteProtocolError is a ProtocolError), undecodable compressed bodies.
_TRANSIENT_HTTPX: Final = (httpx.TransportError, httpx.DecodingError)

_RETRY: Final = object()  # _parse's "backed off; send again"


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


class RestClient:
    """GitHub REST client: one pooled httpx transport, a shared Limiter, retries, errors.

    Safe to share between the asyncio tasks of one event loop.
    """

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        rate: RateLimitConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        on_wait: Callable[[str, float], None] | None = None,
        rng: random.Random | None = None,
        proxy: str | None = None,
        token_name: str = "GITHUB_TOKEN",  # noqa: S107 — a variable name, not a secret
    ) -> None:
        # ``token_name``: the environment variable the token came from, named in messages.
        check_token(token, token_name)
        self._token_name = token_name
        self._token = token
        self._origin = ApiOrigin(api_url, scrub=self._scrub)
        self._rate = rate
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self._limiter = Limiter(
            max_concurrency=rate.max_concurrency,
            points_per_minute=rate.points_per_minute,
            reset_margin=rate.reset_margin_seconds,
            clock=clock,
            sleep=sleep,
            on_wait=on_wait,
        )
        # Requests go straight to one pooled httpx transport (a given ``transport`` — tests —
        # replaces it, and ``proxy`` with it): ghye follows redirects itself,
        # keeps no cookies and needs no auth flow, so AsyncClient's layer (URL merging, cookie
        # jar, hooks) would only cost CPU on every page. The token is a header of requests that
        # only ever go to api_url's origin: every URL passes ApiOrigin (next
        # links, redirects) before it is sent.
        self._transport = transport or pooled_transport(rate.max_concurrency, proxy)
        self._headers = httpx.Headers(
            {
                "Accept": "application/vnd.github+json",
                "Accept-Encoding": "gzip, deflate",
                "Connection": "keep-alive",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": USER_AGENT,
                "Authorization": f"Bearer {token}",
            }
        )
        self._timeout = httpx.Timeout(rate.request_timeout_seconds).as_dict()
        self._retrier = Retrier(
            rate, self._limiter, sleep=sleep, clock=clock, rng=self._rng, scrub=self._scrub
        )
        self._requests = 0
        self._responses: dict[int, int] = {}

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
        rng: random.Random | None = None,
    ) -> RestClient:
        """A client for ``config``'s API; the token from ``environ`` (TokenMissing if none)."""
        return cls(
            api_url=config.github.api_url,
            token=resolve_token(config.github.auth.token_env, environ),
            rate=config.rate_limit,
            transport=transport,
            sleep=sleep,
            clock=clock,
            on_wait=on_wait,
            rng=rng,
            proxy=proxy_for(config.github.api_url, environ),
            token_name=token_variable(config.github.auth.token_env, environ),
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
        return ClientStats(
            requests=self._requests,
            responses=dict(self._responses),
            retries=self._retrier.retries,
            rate_limit_hits=self._retrier.rate_limit_hits,
            secondary_hits=self._retrier.secondary_hits,
            waited_seconds=self._limiter.paused_seconds + self._retrier.backoff_seconds,
            max_in_flight=self._limiter.max_in_flight,
        )

    @property
    def rate_state(self) -> RateLimitState | None:
        """The latest known core budget (for the display)."""
        return self._limiter.state(CORE)

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
        body, meta, link = await self._get(url, params, empty_on_409=empty_on_409, key=key)
        if body is None:
            return Page([], None, meta)
        nxt = next_link(link)
        if nxt is not None and not is_absolute(nxt):
            nxt = urljoin(meta.url, nxt)
        return Page(body, nxt, meta)

    async def get_object(self, path: str) -> dict[str, Any]:
        """GET one JSON object, e.g. ``/user`` or ``/orgs/{org}`` (an answer that is not an
        object is retried, then TransientError, as for :meth:`get_page`)."""
        body, _, _ = await self._get(path, None, empty_on_409=False, expect="object")
        if not isinstance(body, dict):  # _get checked it; this narrows the type
            raise AssertionError("an object was expected")
        return body

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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- one request, with retries, waits and redirects ----------------------------------

    async def _get(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        *,
        empty_on_409: bool,
        expect: Expect = "list",
        key: str | None = None,
    ) -> tuple[Any, PageMeta, str | None]:
        """(checked body, or None for a 409 taken as empty, meta, Link header) of a 2xx answer."""
        target = self._origin.resolve(url)
        tries = Tries()
        while True:
            sent = await self._send(target, params, tries)
            if sent is None:  # a transport failure, already backed off
                continue
            response, picked, rate, answers_at_send = sent
            status = response.status_code
            if 200 <= status < 300:
                meta = PageMeta(status, self._shown(response), picked.get(REQUEST_ID), rate)
                parsed = await self._parse(response, meta, target, tries, expect=expect, key=key)
                if parsed is _RETRY:
                    continue
                self._limiter.success()
                return parsed, meta, picked.get("link")
            if status in _REDIRECTS and "location" in response.headers:
                target, params = self._redirect(response, tries), None
                continue
            shared = self._limiter.limit_answers != answers_at_send
            shown = self._shown(response)
            if status in (403, 429) and self._retrier.rate_limited(
                response, rate, tries, shown=shown, shared=shared
            ):
                continue
            if status >= 500:
                await self._retrier.server_error(response, shown, target, tries)
                continue
            if status == 409 and empty_on_409:
                return (
                    None,
                    PageMeta(status, self._shown(response), picked.get(REQUEST_ID), rate),
                    None,
                )
            self._raise_client_error(response)

    async def _send(
        self, target: str, params: Mapping[str, str | int] | None, tries: Tries
    ) -> tuple[httpx.Response, dict[str, str], RateLimitState | None, int] | None:
        """One GET through the limiter: the answer, its picked headers and rate state, and the
        limiter's pause count when it was sent; None after backing off from a transport failure.
        """
        limiter = self._limiter
        await limiter.acquire()
        answers_at_send = limiter.limit_answers  # another limit answer since: met in flight
        self._requests += 1
        try:
            # request_timeout_seconds bounds the whole request, body included: httpx's own
            # timeouts bound each read, and a body trickling a byte at a time never trips them.
            request = httpx.Request(
                "GET",
                target,
                params=params,
                headers=self._headers,
                extensions={"timeout": self._timeout},
            )
            async with asyncio.timeout(self._rate.request_timeout_seconds):
                response = await fetch(self._transport, request)
        except _TRANSIENT_HTTPX as exc:
            limiter.release()
            what = describe_failure(exc, target, self._rate.request_timeout_seconds)
            await self._retrier.backoff(tries, what, url=target, cause=exc)
            return None
        except TimeoutError as exc:
            limiter.release()
            await self._retrier.backoff(
                tries,
                f"GitHub did not finish answering {without_credentials(target)} within "
                f"{self._rate.request_timeout_seconds:g} s (request_timeout_seconds)",
                url=target,
                cause=exc,
            )
            return None
        except BaseException:
            limiter.release()
            raise
        picked = pick_headers(response.headers.raw)
        rate = limiter.release(parse_rate_headers(picked))
        status = response.status_code
        self._responses[status] = self._responses.get(status, 0) + 1
        return response, picked, rate, answers_at_send

    async def _parse(
        self,
        response: httpx.Response,
        meta: PageMeta,
        target: str,
        tries: Tries,
        *,
        expect: Expect,
        key: str | None,
    ) -> Any:
        """The checked JSON body of a 2xx answer, or _RETRY after backing off from an odd one."""
        body, problem, cause = read_body(response, expect=expect, key=key)
        if problem is None:
            return body
        what = "a list of records" if expect == "list" else "a JSON object"
        await self._retrier.backoff(
            tries,
            f"GitHub answered {meta.url} with {problem} where {what} belongs",
            url=target,
            status=meta.status,
            request_id=meta.request_id,
            cause=cause,
        )
        return _RETRY

    def _redirect(self, response: httpx.Response, tries: Tries) -> str:
        """The same-origin URL to follow (ForeignNextLink for any other origin)."""
        location = urljoin(str(response.url), response.headers["location"])
        self._origin.check(location, "redirect")
        tries.redirects += 1
        if tries.redirects > MAX_REDIRECTS:
            self._raise_for(
                PermanentError,
                f"GitHub redirected {self._shown(response)} more than {MAX_REDIRECTS} times"
                " — not followed further",
                response,
            )
        return location

    def _raise_client_error(self, response: httpx.Response) -> NoReturn:
        url = self._shown(response)
        error = client_error(
            response.status_code,
            response.reason_phrase,
            url,
            github_message(response),
            token_name=self._token_name,
        )
        # Every error carries the same facts (an AuthenticationFailed is an AuthError, exit 5,
        # not a GitHubError, but says which request failed all the same).
        vars(error).update(
            status=response.status_code, url=url, request_id=response.headers.get(REQUEST_ID)
        )
        error.args = (self._scrub(str(error)),)
        raise error

    def _raise_for(
        self, cls: type[GitHubError], message: str, response: httpx.Response
    ) -> NoReturn:
        raise cls(
            self._scrub(message),
            status=response.status_code,
            url=self._shown(response),
            request_id=response.headers.get(REQUEST_ID),
        )

    def _shown(self, response: httpx.Response) -> str:
        return self._scrub(without_credentials(str(response.url)))

    def _scrub(self, text: str) -> str:
        # Belt and braces: text from foreign sources (httpx, GitHub) never echoes the token.
        return text.replace(self._token, "***") if self._token in text else text


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
