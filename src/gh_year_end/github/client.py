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
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, NoReturn
from urllib.parse import urljoin

import httpx
import orjson

from gh_year_end import __version__
from gh_year_end.config import Config, RateLimitConfig
from gh_year_end.errors import (
    AuthenticationFailed,
    Blocked,
    ConfigInvalid,
    Forbidden,
    ForeignNextLink,
    GitHubError,
    PermanentError,
    RateLimitExhausted,
    TokenMissing,
    TransientError,
    Unavailable,
    Unprocessable,
)
from gh_year_end.github.links import (
    is_absolute,
    next_link,
    origin_of,
    origin_text,
    without_credentials,
)
from gh_year_end.github.network import with_readable_check
from gh_year_end.github.proxy import proxy_for
from gh_year_end.github.ratelimit import (
    ANNOUNCE_AFTER_SECONDS,
    CORE,
    Limiter,
    RateLimitState,
    backoff_delay,
    classify_limit,
    parse_rate_headers,
    parse_retry_after,
    secondary_wait,
)

logger = logging.getLogger(__name__)

API_VERSION: Final = "2022-11-28"
USER_AGENT: Final = f"ghye/{__version__}"
#: Rate-limit answers (403/429) one request may meet before ghye gives up on it.
RATE_LIMIT_RETRIES: Final = 5
#: Same-origin redirects followed for one request.
MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
_REQUEST_ID: Final = "x-github-request-id"
_HOT_HEADERS: Final = frozenset(
    {
        b"x-ratelimit-limit",
        b"x-ratelimit-remaining",
        b"x-ratelimit-used",
        b"x-ratelimit-reset",
        b"x-ratelimit-resource",
        b"x-github-request-id",
        b"link",
    }
)
# What a GitHub token can look like: printable ASCII, no spaces (they would break the header).
_TOKEN_RE: Final = re.compile(r"^[\x21-\x7e]+$")
# httpx failures worth retrying: timeouts, connection errors, truncated bodies
# (RemoteProtocolError is a ProtocolError), undecodable compressed bodies.
_TRANSIENT_HTTPX: Final = (httpx.TransportError, httpx.DecodingError)
_MISSING_MESSAGE: Final = (
    "no GitHub token: set GITHUB_TOKEN (or the variable named by github.auth.token_env)"
    " — e.g. export GITHUB_TOKEN=…"
)


#: Rate-limit answers one request may meet while a pause another request's answer began was
#: already in effect (they say nothing new about the limit, so they do not use up its retries).
SHARED_LIMIT_HITS: Final = 50

Expect = Literal["list", "object"]


@dataclass(slots=True)
class _Tries:
    """What one request has been through so far."""

    failures: int = 0  # transient failures (5xx, transport, bad or odd bodies)
    limit_hits: int = 0  # rate-limit answers that began or renewed a pause
    shared_hits: int = 0  # rate-limit answers met inside a pause another answer began
    redirects: int = 0


_RETRY: Final = object()  # _parse's "backed off; send again"


@dataclass(frozen=True, slots=True)
class PageMeta:
    """Facts about the response a page came from."""

    status: int
    url: str
    request_id: str | None
    rate: RateLimitState | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list endpoint: its records and the verbatim URL of the next page."""

    records: list[dict[str, Any]]
    next_url: str | None
    meta: PageMeta

    @property
    def data(self) -> list[dict[str, Any]]:
        """The records (the name the seed's collector uses)."""
        return self.records


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


def token_variable(token_env: str, environ: Mapping[str, str]) -> str:
    """The name of the variable :func:`resolve_token` takes the token from (for messages)."""
    return token_env if environ.get(token_env, "").strip() else "GH_TOKEN"


def resolve_token(token_env: str, environ: Mapping[str, str]) -> str:
    """The token from ``environ[token_env]``, else ``GH_TOKEN`` (as the gh CLI does).

    Raises TokenMissing, naming the variable to set, when neither holds a token.
    """
    for name in (token_env, "GH_TOKEN"):
        value = environ.get(name, "").strip()
        if value:
            return value
    if token_env == "GITHUB_TOKEN":  # noqa: S105 - a variable name
        raise TokenMissing(_MISSING_MESSAGE)
    raise TokenMissing(
        f"no GitHub token: set {token_env} (the variable named by github.auth.token_env)"
        f" or GH_TOKEN — e.g. export {token_env}=…"
    )


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
        if not token:
            raise TokenMissing(_MISSING_MESSAGE)
        if _TOKEN_RE.match(token) is None:
            raise AuthenticationFailed(
                "the GitHub token holds spaces or characters a token cannot have — check "
                f"{token_name}"
            )
        self._token_name = token_name
        base = without_credentials(api_url.strip()).rstrip("/")
        origin = origin_of(base)
        if origin is None:
            raise ConfigInvalid(
                f"github.api_url: '{base}' must be an http(s) URL like https://api.github.com"
            )
        self._api_url = base
        self._origin = origin
        self._token = token
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
        # only ever go to api_url's origin: every URL passes _resolve/_check_origin (next
        # links, redirects) before it is sent.
        if transport is None:
            pooled = httpx.AsyncHTTPTransport(
                limits=httpx.Limits(
                    max_connections=rate.max_concurrency,
                    max_keepalive_connections=rate.max_concurrency,
                ),
                http1=True,
                http2=False,
                proxy=proxy,
            )
            with_readable_check(pooled)
            transport = pooled
        self._transport: httpx.AsyncBaseTransport = transport
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
        self._requests = 0
        self._responses: dict[int, int] = {}
        self._retries = 0
        self._rate_limit_hits = 0
        self._secondary_hits = 0
        self._backoff_seconds = 0.0

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
        return f"RestClient(api_url={self._api_url!r})"

    # --- public API ----------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The API base URL, path prefix kept, no trailing slash."""
        return self._api_url

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the counters."""
        return ClientStats(
            requests=self._requests,
            responses=dict(self._responses),
            retries=self._retries,
            rate_limit_hits=self._rate_limit_hits,
            secondary_hits=self._secondary_hits,
            waited_seconds=self._limiter.paused_seconds + self._backoff_seconds,
            max_in_flight=self._limiter.max_in_flight,
        )

    @property
    def rate_state(self) -> RateLimitState | None:
        """The latest known core budget (for the display)."""
        return self._limiter.state(CORE)

    @property
    def paused_until(self) -> float:
        """Epoch until which every request waits (in the past when not paused)."""
        return self._limiter.paused_until

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

    def _resolve(self, url: str) -> str:
        if not is_absolute(url):
            return f"{self._api_url}{url}" if url.startswith("/") else f"{self._api_url}/{url}"
        self._check_origin(url, "next link")
        return url

    def _check_origin(self, url: str, what: str) -> None:
        origin = origin_of(url)
        if origin != self._origin:
            raise ForeignNextLink(
                f"GitHub's {what} points at {origin_text(origin)}, not "
                f"{origin_text(self._origin)} — not followed, so the token stays with the "
                "configured API",
                url=self._scrub(without_credentials(url)),
            )

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
        target = self._resolve(url)
        tries = _Tries()
        while True:
            sent = await self._send(target, params, tries)
            if sent is None:  # a transport failure, already backed off
                continue
            response, picked, rate, pauses_at_send = sent
            status = response.status_code
            if 200 <= status < 300:
                meta = PageMeta(status, self._shown(response), picked.get(_REQUEST_ID), rate)
                parsed = await self._parse(response, meta, target, tries, expect=expect, key=key)
                if parsed is _RETRY:
                    continue
                self._limiter.success()
                return parsed, meta, picked.get("link")
            if status in _REDIRECTS and "location" in response.headers:
                target, params = self._redirect(response, tries), None
                continue
            shared = self._limiter.pause_seq != pauses_at_send
            if status in (403, 429) and self._rate_limited(response, rate, tries, shared=shared):
                continue
            if status >= 500:
                await self._server_error(response, target, tries)
                continue
            if status == 409 and empty_on_409:
                return (
                    None,
                    PageMeta(status, self._shown(response), picked.get(_REQUEST_ID), rate),
                    None,
                )
            self._raise_client_error(response)

    async def _send(
        self, target: str, params: Mapping[str, str | int] | None, tries: _Tries
    ) -> tuple[httpx.Response, dict[str, str], RateLimitState | None, int] | None:
        """One GET through the limiter: the answer, its picked headers and rate state, and the
        limiter's pause count when it was sent; None after backing off from a transport failure.
        """
        limiter = self._limiter
        await limiter.acquire()
        pauses_at_send = limiter.pause_seq  # a pause begun after this: met while in flight
        self._requests += 1
        try:
            # request_timeout_seconds bounds the whole request, body included: httpx's own
            # timeouts bound each read, and a body trickling a byte at a time never trips them.
            async with asyncio.timeout(self._rate.request_timeout_seconds):
                response = await self._fetch(target, params)
        except _TRANSIENT_HTTPX as exc:
            limiter.release()
            await self._backoff(tries, self._describe_failure(exc, target), url=target, cause=exc)
            return None
        except TimeoutError as exc:
            limiter.release()
            await self._backoff(
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
        picked = _pick_headers(response.headers.raw)
        rate = limiter.release(parse_rate_headers(picked))
        status = response.status_code
        self._responses[status] = self._responses.get(status, 0) + 1
        return response, picked, rate, pauses_at_send

    async def _fetch(self, target: str, params: Mapping[str, str | int] | None) -> httpx.Response:
        """One GET on the transport, body read whole (httpx's TransportErrors on failure)."""
        request = httpx.Request(
            "GET",
            target,
            params=params,
            headers=self._headers,
            extensions={"timeout": self._timeout},
        )
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def _parse(
        self,
        response: httpx.Response,
        meta: PageMeta,
        target: str,
        tries: _Tries,
        *,
        expect: Expect,
        key: str | None,
    ) -> Any:
        """The checked JSON body of a 2xx answer, or _RETRY after backing off from an odd one."""
        content = response.content
        problem: str | None = None
        cause: BaseException | None = None
        body: Any = None
        if meta.status in (202, 204):
            problem = f"{meta.status} {response.reason_phrase} (no data yet)"
        elif not content.strip():
            problem = "an empty body"
        else:
            try:
                body = orjson.loads(content)
            except orjson.JSONDecodeError as exc:
                problem, cause = "a body that is not valid JSON", exc
        if problem is None:
            problem = _shape_problem(body, expect, key)
        if problem is None:
            return body
        what = "a list of records" if expect == "list" else "a JSON object"
        await self._backoff(
            tries,
            f"GitHub answered {meta.url} with {problem} where {what} belongs",
            url=target,
            status=meta.status,
            request_id=meta.request_id,
            cause=cause,
        )
        return _RETRY

    def _redirect(self, response: httpx.Response, tries: _Tries) -> str:
        """The same-origin URL to follow (ForeignNextLink for any other origin)."""
        location = urljoin(str(response.url), response.headers["location"])
        self._check_origin(location, "redirect")
        tries.redirects += 1
        if tries.redirects > MAX_REDIRECTS:
            self._raise_for(
                PermanentError,
                f"GitHub redirected {self._shown(response)} more than {MAX_REDIRECTS} times"
                " — not followed further",
                response,
            )
        return location

    def _rate_limited(
        self,
        response: httpx.Response,
        rate: RateLimitState | None,
        tries: _Tries,
        *,
        shared: bool,
    ) -> bool:
        """For a 403/429: if it is a rate limit, pause every worker and return True.

        ``shared``: a pause began while this request was in flight (another answer met the
        limit first). Such a hit is the same episode, not a new refusal of this request: it
        does not use up the request's retries (it is bounded by SHARED_LIMIT_HITS instead).
        """
        status = response.status_code
        message = _github_message(response)
        now = self._clock()
        retry_after = parse_retry_after(response.headers.get("retry-after"), now)
        kind = classify_limit(status, message, retry_after, rate)
        if kind is None:
            return False
        self._rate_limit_hits += 1
        if shared and tries.shared_hits < SHARED_LIMIT_HITS:
            tries.shared_hits += 1
        else:
            tries.limit_hits += 1
        if tries.limit_hits > RATE_LIMIT_RETRIES:
            self._raise_for(
                RateLimitExhausted,
                f"GitHub's {kind} rate limit still refused {self._shown(response)} after "
                f"{RATE_LIMIT_RETRIES} waits ({status} {message}) — another client may share "
                "the token; run `ghye resume` later",
                response,
            )
        limiter = self._limiter
        if kind == "secondary":
            self._secondary_hits += 1
            wait = limiter.secondary_hit(
                now, retry_after, self._rate.secondary_min_wait_seconds, shared=shared
            )
            limiter.pause(
                now + wait, f"secondary rate limit ({status}); every request waits", now=now
            )
            return True
        if retry_after is not None:
            until = now + retry_after
        elif rate is not None:
            until = max(rate.reset, now) + self._rate.reset_margin_seconds
        else:
            # "API rate limit exceeded" without the headers that say when it resets (a proxy
            # stripped them): wait as for a secondary limit, doubling per repeat.
            until = now + secondary_wait(
                self._rate.secondary_min_wait_seconds, max(tries.limit_hits - 1, 0)
            )
        resource = rate.resource if rate is not None else CORE
        limiter.pause(
            until,
            f"primary rate limit ({resource}) used up ({status}); waiting for its reset",
            now=now,
        )
        return True

    async def _server_error(self, response: httpx.Response, target: str, tries: _Tries) -> None:
        """Back off from a 5xx (honouring its Retry-After), or raise TransientError."""
        status = response.status_code
        await self._backoff(
            tries,
            f"GitHub answered {status} {response.reason_phrase} for {self._shown(response)}",
            url=target,
            status=status,
            request_id=response.headers.get("x-github-request-id"),
            retry_after=parse_retry_after(response.headers.get("retry-after"), self._clock()),
        )

    async def _backoff(
        self,
        tries: _Tries,
        what: str,
        *,
        url: str,
        status: int | None = None,
        request_id: str | None = None,
        cause: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Sleep before the next attempt, or raise TransientError once retries are spent."""
        retries = self._rate.max_retries
        attempt = tries.failures
        if attempt >= retries:
            detail = self._scrub(f"{what} — gave up after {attempt + 1} attempts")
            error = TransientError(
                f"{detail}; `ghye resume` continues from this page",
                status=status,
                url=self._scrub(without_credentials(url)),
                request_id=request_id,
                detail=detail,
            )
            raise error from cause
        delay = (
            retry_after
            if retry_after is not None
            else backoff_delay(
                attempt,
                base=self._rate.backoff_base_seconds,
                cap=self._rate.backoff_max_seconds,
                rng=self._rng,
            )
        )
        tries.failures += 1
        self._retries += 1
        self._backoff_seconds += delay
        reason = self._scrub(f"{what}; retry {attempt + 1} of {retries}")
        if delay > ANNOUNCE_AFTER_SECONDS:
            self._limiter.announce(reason, delay)
        else:
            logger.debug("%s in %.1f s", reason, delay)
        await self._sleep(delay)

    def _raise_client_error(self, response: httpx.Response) -> NoReturn:
        status = response.status_code
        url = self._shown(response)
        message = _github_message(response)
        if status == 401:
            error = AuthenticationFailed(
                self._scrub(
                    f"GitHub rejected the token (401 {message or 'Bad credentials'}) — check "
                    f"{self._token_name}: it may be wrong, expired or revoked"
                )
            )
            # AuthenticationFailed is an AuthError (exit 5), not a GitHubError; it carries the
            # same facts as the others all the same.
            vars(error).update(
                status=status, url=url, request_id=response.headers.get("x-github-request-id")
            )
            raise error
        if status == 403:
            self._raise_for(Forbidden, _forbidden_text(url, message), response)
        if status in (404, 410):
            self._raise_for(
                Unavailable,
                f"{url} is not available ({status} {message}) — it was removed, or the token "
                "cannot see it",
                response,
            )
        if status == 451:
            self._raise_for(
                Blocked, f"{url} is blocked for legal reasons (451 {message})", response
            )
        if status == 422:
            self._raise_for(
                Unprocessable,
                f"GitHub refused the request {url} as invalid (422 {message})",
                response,
            )
        if status == 409:
            self._raise_for(
                Unprocessable, f"GitHub answered 409 Conflict for {url}: {message}", response
            )
        self._raise_for(
            PermanentError,
            f"GitHub answered {status} {response.reason_phrase} for {url}: {message}",
            response,
        )

    def _raise_for(
        self, cls: type[GitHubError], message: str, response: httpx.Response
    ) -> NoReturn:
        raise cls(
            self._scrub(message),
            status=response.status_code,
            url=self._shown(response),
            request_id=response.headers.get("x-github-request-id"),
        )

    def _shown(self, response: httpx.Response) -> str:
        return self._scrub(without_credentials(str(response.url)))

    def _describe_failure(self, exc: BaseException, url: str) -> str:
        shown = without_credentials(url)
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"GitHub did not answer {shown} within "
                f"{self._rate.request_timeout_seconds:g} s ({type(exc).__name__})"
            )
        if isinstance(exc, httpx.RemoteProtocolError):
            return f"the connection broke while reading {shown} (truncated answer: {exc})"
        if isinstance(exc, httpx.DecodingError):
            return f"GitHub's answer for {shown} could not be decoded ({exc})"
        return f"could not reach {shown} ({type(exc).__name__}: {exc})"

    def _scrub(self, text: str) -> str:
        # Belt and braces: text from foreign sources (httpx, GitHub) never echoes the token.
        return text.replace(self._token, "***") if self._token in text else text


def _shape_problem(body: Any, expect: Expect, key: str | None) -> str | None:
    """What is wrong with a parsed 2xx body, in words; None when it has the expected shape."""
    if expect == "object":
        return None if isinstance(body, dict) else _kind_of(body)
    if not isinstance(body, list):
        return _kind_of(body)
    for position, item in enumerate(body, 1):
        if not isinstance(item, dict):
            return f"{_kind_of(item)} as item {position}"
        if key is not None:
            if key not in item:
                return f"item {position} without {key!r}"
            value = item[key]
            if type(value) not in (int, str):  # type(): a bool is no id
                return f"item {position} whose {key!r} is {_kind_of(value)}"
    return None


def _kind_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _pick_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers every answer is read for, in one pass (httpx.Headers lookups scan the list)."""
    found: dict[str, str] = {}
    for key, value in raw:
        low = key.lower()
        if low in _HOT_HEADERS:
            found[low.decode("ascii")] = value.decode("latin-1")
    return found


def _github_message(response: httpx.Response) -> str:
    """GitHub's JSON "message" (plus its documentation_url hint), else the reason phrase."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message: str = body["message"]
        return message[:500]
    return response.reason_phrase


def _forbidden_text(url: str, message: str) -> str:
    if "saml" in message.lower():
        hint = "authorize the token for the organization's SAML single sign-on"
    else:
        hint = "the token lacks a permission or scope this needs"
    return f"GitHub refused {url} (403 {message}) — {hint}"
