"""One request to GitHub, start to end: through the credential pool and its limits, retried
while worth it, rate limits waited out, same-origin redirects followed, and the answer checked —
or one of the errors of :mod:`gh_year_end.errors`, with no credential in its text.

:class:`Exchange` is what :class:`~.client.RestClient` sends every request through (a REST GET,
or a GraphQL query POSTed under the ``graphql`` budget). Credentials are a header of requests
that only ever go to api_url's origin: every URL passes :class:`~.origin.ApiOrigin` (next links,
redirects) before it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, NoReturn
from urllib.parse import urljoin

import httpx

from gh_year_end import __version__
from gh_year_end.config import RateLimitConfig
from gh_year_end.errors import (
    AuthenticationFailed,
    GhyeError,
    GitHubError,
    PermanentError,
    QueryTooHeavy,
)
from gh_year_end.github.answers import (
    REQUEST_ID,
    Expect,
    PageMeta,
    client_error,
    describe_failure,
    github_message,
    pick_headers,
    read_body,
)
from gh_year_end.github.credentials import scrub
from gh_year_end.github.graphql import answer_problem, is_rate_limited, read_errors
from gh_year_end.github.links import without_credentials
from gh_year_end.github.origin import ApiOrigin
from gh_year_end.github.pool import CredentialPool, Lane
from gh_year_end.github.ratelimit import CORE, GRAPHQL, RateLimitState, parse_rate_headers
from gh_year_end.github.retry import Retrier, Tries
from gh_year_end.github.transport import fetch

API_VERSION: Final = "2022-11-28"
USER_AGENT: Final = f"ghye/{__version__}"
#: Same-origin redirects followed for one request.
MAX_REDIRECTS: Final = 5
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})
#: httpx failures worth retrying: timeouts, connection errors, truncated bodies
#: (RemoteProtocolError is a ProtocolError), undecodable compressed bodies.
TRANSIENT_HTTPX: Final = (httpx.TransportError, httpx.DecodingError)
#: The headers of every request to GitHub, but for its Authorization.
BASE_HEADERS: Final = {
    "Accept": "application/vnd.github+json",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "X-GitHub-Api-Version": API_VERSION,
    "User-Agent": USER_AGENT,
}

_RETRY: Final = object()  # _parse's "backed off; send again"
#: A credential that says it renewed after a 401 gets this many more tries in one request.
_RENEWALS_PER_REQUEST: Final = 2

Body = Expect | Literal["graphql"]
"""What a 2xx body must be: a list of records, a JSON object, or a GraphQL answer."""


@dataclass(frozen=True, slots=True)
class _Sent:
    """One request's answer, and what it went out with."""

    response: httpx.Response
    picked: dict[str, str]
    rate: RateLimitState | None
    answers_at_send: int
    lane: Lane
    authorization: str


class Exchange:
    """Sends requests (see the module docstring); counts what it sent and what came back."""

    def __init__(
        self,
        *,
        origin: ApiOrigin,
        pool: CredentialPool,
        transport: httpx.AsyncBaseTransport,
        rate: RateLimitConfig,
        retrier: Retrier,
    ) -> None:
        self._origin, self._pool, self._transport = origin, pool, transport
        self._rate, self._retrier = rate, retrier
        self._headers = BASE_HEADERS
        self._timeout = httpx.Timeout(rate.request_timeout_seconds).as_dict()
        self.requests = 0
        self.responses: dict[int, int] = {}
        self.by_resource: dict[str, int] = {}

    async def request(
        self,
        url: str,
        params: Mapping[str, str | int] | None,
        *,
        empty_on_409: bool,
        expect: Body = "list",
        key: str | None = None,
        content: bytes | None = None,
        shrinkable: bool = False,
        lane: Lane | None = None,
        if_none_match: str | None = None,
    ) -> tuple[Any, PageMeta, str | None]:
        """(checked body, or None for a 409 taken as empty or a 304, meta, Link header) of a 2xx
        answer. ``content``: a GraphQL query, POSTed (to the graphql endpoint, under its
        budget). ``lane``: this credential only (a 401 that drops it ends the request: body
        None). ``if_none_match``: an ETag; GitHub's ``304 Not Modified`` for it is answered
        with body None and ``meta.not_modified``."""
        target = self._origin.resolve(url)
        resource = GRAPHQL if content is not None else CORE
        tries = Tries()
        while True:
            if lane is not None and lane.dropped is not None:
                return None, PageMeta(401, target, None, None), None
            sent = await self._send(
                target, params, tries, resource, content, only=lane, if_none_match=if_none_match
            )
            if sent is None:  # backed off from a transport failure, or a lane was dropped
                continue
            response, picked, rate = sent.response, sent.picked, sent.rate
            limiter = sent.lane.limiter
            status = response.status_code
            if 200 <= status < 300:
                meta = self._meta(response, picked, rate)
                parsed = await self._parse(response, meta, target, tries, expect=expect, key=key)
                if parsed is _RETRY:
                    continue
                if expect == "graphql" and is_rate_limited(read_errors(parsed)):
                    self._retrier.graphql_rate_limited(
                        response, rate, tries, shown=meta.url, limiter=limiter
                    )
                    continue
                limiter.success()
                return parsed, meta, picked.get("link")
            if status == 304 and if_none_match is not None:
                limiter.success()
                meta = self._meta(response, picked, rate)
                return None, meta, None
            if status in _REDIRECTS and "location" in response.headers:
                target, params = self._redirect(response, tries), None
                continue
            if status == 401:
                self._rejected(sent, tries)
                continue
            shared = limiter.limit_answers != sent.answers_at_send
            shown = self.shown(response)
            if status in (403, 429) and self._retrier.rate_limited(
                response,
                rate,
                tries,
                shown=shown,
                shared=shared,
                limiter=limiter,
                resource=resource,
            ):
                continue
            if status >= 500:
                if shrinkable and status in (502, 504):
                    self._raise_for(
                        QueryTooHeavy,
                        f"GitHub gave up on the query ({status} {response.reason_phrase}) — "
                        "asking for less",
                        response,
                    )
                await self._retrier.server_error(response, shown, target, tries)
                continue
            if status == 409 and empty_on_409:
                return None, self._meta(response, picked, rate), None
            self._raise_client_error(response, sent.lane)

    async def _send(
        self,
        target: str,
        params: Mapping[str, str | int] | None,
        tries: Tries,
        resource: str,
        content: bytes | None,
        *,
        only: Lane | None = None,
        if_none_match: str | None = None,
    ) -> _Sent | None:
        """One request down the pool's chosen lane (or ``only``): the answer with what it went
        out with; None after backing off from a transport failure, or when the lane was
        dropped (an App GitHub refuses): the caller asks again."""
        if only is not None:
            await only.limiter.acquire(resource=resource)
            lane = only
        else:
            lane = await self._pool.acquire(resource)
        limiter = lane.limiter
        answers_at_send = limiter.limit_answers  # another limit answer since: met in flight
        try:
            authorization = await lane.credential.authorization()
        except AuthenticationFailed as exc:
            # An App GitHub refuses (its key, its installation): dropped like a refused token
            # while others remain; the request goes down another lane.
            self._pool.release(lane, None, resource)
            self._pool.drop(lane, str(exc), error=exc)
            return None
        except BaseException:
            self._pool.release(lane, None, resource)
            raise
        self.requests += 1
        self.by_resource[resource] = self.by_resource.get(resource, 0) + 1
        try:
            # request_timeout_seconds bounds the whole request, body included: httpx's own
            # timeouts bound each read, and a body trickling a byte at a time never trips them.
            headers = {**self._headers, "Authorization": authorization}
            if content is not None:
                headers["Content-Type"] = "application/json"
            if if_none_match is not None:
                headers["If-None-Match"] = if_none_match
            request = httpx.Request(
                "GET" if content is None else "POST",
                target,
                params=params,
                headers=headers,
                content=content,
                extensions={"timeout": self._timeout},
            )
            async with asyncio.timeout(self._rate.request_timeout_seconds):
                response = await fetch(self._transport, request)
        except TRANSIENT_HTTPX as exc:
            self._pool.release(lane, None, resource)
            what = describe_failure(exc, target, self._rate.request_timeout_seconds)
            await self._retrier.backoff(tries, what, url=target, cause=exc)
            return None
        except TimeoutError as exc:
            self._pool.release(lane, None, resource)
            await self._retrier.backoff(
                tries,
                f"GitHub did not finish answering {without_credentials(target)} within "
                f"{self._rate.request_timeout_seconds:g} s (request_timeout_seconds)",
                url=target,
                cause=exc,
            )
            return None
        except BaseException:
            self._pool.release(lane, None, resource)
            raise
        picked = pick_headers(response.headers.raw)
        # A 401's budget is not the credential's (GitHub answers for one it could not resolve
        # with another's, or none): it is not folded in.
        state = parse_rate_headers(picked) if response.status_code != 401 else None
        if state is not None and "x-ratelimit-resource" not in picked:
            # A proxy that drops this one header must not file GraphQL's points under core.
            state = replace(state, resource=resource)
        rate = self._pool.release(lane, state, resource)
        status = response.status_code
        self.responses[status] = self.responses.get(status, 0) + 1
        return _Sent(response, picked, rate, answers_at_send, lane, authorization)

    def _rejected(self, sent: _Sent, tries: Tries) -> None:
        """A 401: the credential renews (an App's installation token) and the request goes
        again, or it is dropped from the pool — AuthenticationFailed when it was the last."""
        lane = sent.lane
        if lane.credential.rejected(sent.authorization) and tries.renewals < _RENEWALS_PER_REQUEST:
            tries.renewals += 1
            return
        error = self._client_error(sent.response, lane)
        self._pool.drop(lane, str(error), error=error)

    async def _parse(
        self,
        response: httpx.Response,
        meta: PageMeta,
        target: str,
        tries: Tries,
        *,
        expect: Body,
        key: str | None,
    ) -> Any:
        """The checked JSON body of a 2xx answer, or _RETRY after backing off from an odd one."""
        body, problem, cause = read_body(
            response, expect="object" if expect == "graphql" else expect, key=key
        )
        if problem is None and expect == "graphql":
            problem = answer_problem(body)
        if problem is None:
            return body
        what = {
            "list": "a list of records",
            "object": "a JSON object",
            "graphql": "a GraphQL answer",
        }[expect]
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
                f"GitHub redirected {self.shown(response)} more than {MAX_REDIRECTS} times"
                " — not followed further",
                response,
            )
        return location

    def _client_error(self, response: httpx.Response, lane: Lane) -> GhyeError:
        url = self.shown(response)
        error = client_error(
            response.status_code,
            response.reason_phrase,
            url,
            github_message(response),
            token_name=lane.label,
        )
        # Every error carries the same facts (an AuthenticationFailed is an AuthError, exit 5,
        # not a GitHubError, but says which request failed all the same).
        vars(error).update(
            status=response.status_code, url=url, request_id=response.headers.get(REQUEST_ID)
        )
        error.args = (self.scrub(str(error)),)
        return error

    def _raise_client_error(self, response: httpx.Response, lane: Lane) -> NoReturn:
        raise self._client_error(response, lane)

    def _raise_for(
        self, cls: type[GitHubError], message: str, response: httpx.Response
    ) -> NoReturn:
        raise cls(
            self.scrub(message),
            status=response.status_code,
            url=self.shown(response),
            request_id=response.headers.get(REQUEST_ID),
        )

    def _meta(
        self, response: httpx.Response, picked: Mapping[str, str], rate: RateLimitState | None
    ) -> PageMeta:
        """What a page records of the answer it came from."""
        return PageMeta(
            response.status_code,
            self.shown(response),
            picked.get(REQUEST_ID),
            rate,
            picked.get("etag"),
        )

    def shown(self, response: httpx.Response) -> str:
        return self.scrub(without_credentials(str(response.url)))

    def scrub(self, text: str) -> str:
        """``text`` without any credential of the pool."""
        return scrub(text, self._pool.secrets())
