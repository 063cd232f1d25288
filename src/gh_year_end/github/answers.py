"""Reading GitHub's answers, without I/O: what a page is, what a 2xx body must look like, what a
4xx means (which error, in which words), and what a transport failure is called.

Every function here is pure: the client feeds it a response (or its parts) and raises, retries or
returns what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx
import orjson

from gh_year_end.errors import (
    AuthenticationFailed,
    Blocked,
    Forbidden,
    GitHubError,
    PermanentError,
    Unavailable,
    Unprocessable,
)
from gh_year_end.github.links import without_credentials
from gh_year_end.github.ratelimit import RateLimitState

Expect = Literal["list", "object"]

REQUEST_ID: Final = "x-github-request-id"
_HOT_HEADERS: Final = frozenset(
    {
        b"x-ratelimit-limit",
        b"x-ratelimit-remaining",
        b"x-ratelimit-used",
        b"x-ratelimit-reset",
        b"x-ratelimit-resource",
        b"x-github-request-id",
        b"link",
        b"etag",
    }
)


@dataclass(frozen=True, slots=True)
class PageMeta:
    """Facts about the response a page came from."""

    status: int
    url: str
    request_id: str | None
    rate: RateLimitState | None
    etag: str | None = None
    """GitHub's ETag for the answer (a refresh asks with it: ``If-None-Match``)."""

    @property
    def not_modified(self) -> bool:
        """A ``304``: the page asked with ``If-None-Match`` has not changed (and cost nothing
        against the primary rate limit)."""
        return self.status == 304


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


def read_body(
    response: httpx.Response, *, expect: Expect, key: str | None
) -> tuple[Any, str | None, BaseException | None]:
    """A 2xx answer's JSON body, or what is wrong with it in words (and the decode error).

    Only the expected shape is a body (see :func:`shape_problem`); a 202 or 204, an empty body,
    invalid JSON or another shape is a problem — never an empty last page.
    """
    status, content = response.status_code, response.content
    if status in (202, 204):
        return None, f"{status} {response.reason_phrase} (no data yet)", None
    if not content.strip():
        return None, "an empty body", None
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        return None, "a body that is not valid JSON", exc
    return body, shape_problem(body, expect, key), None


def shape_problem(body: Any, expect: Expect, key: str | None) -> str | None:
    """What is wrong with a parsed 2xx body, in words; None when it has the expected shape:
    a JSON object, or a list of objects each holding a string or a number at ``key``."""
    if expect == "object":
        return None if isinstance(body, dict) else kind_of(body)
    if not isinstance(body, list):
        return kind_of(body)
    for position, item in enumerate(body, 1):
        if not isinstance(item, dict):
            return f"{kind_of(item)} as item {position}"
        if key is not None:
            if key not in item:
                return f"item {position} without {key!r}"
            value = item[key]
            if type(value) not in (int, str):  # type(): a bool is no id
                return f"item {position} whose {key!r} is {kind_of(value)}"
    return None


def kind_of(value: Any) -> str:
    """A JSON value's kind, as a message says it."""
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


def pick_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers every answer is read for, in one pass (httpx.Headers lookups scan the list)."""
    found: dict[str, str] = {}
    for key, value in raw:
        low = key.lower()
        if low in _HOT_HEADERS:
            found[low.decode("ascii")] = value.decode("latin-1")
    return found


def github_message(response: httpx.Response) -> str:
    """GitHub's JSON "message", else the reason phrase."""
    try:
        body = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        message: str = body["message"]
        return message[:500]
    return response.reason_phrase


def client_error(
    status: int, reason: str, url: str, message: str, *, token_name: str
) -> GitHubError | AuthenticationFailed:
    """The error a 4xx answer (that is no rate limit) stands for, with a message that says
    what to do. ``url`` is already safe to show."""
    if status == 401:
        return AuthenticationFailed(
            f"GitHub rejected the token (401 {message or 'Bad credentials'}) — check "
            f"{token_name}: it may be wrong, expired or revoked"
        )
    if status == 403:
        if "saml" in message.lower():
            hint = "authorize the token for the organization's SAML single sign-on"
        else:
            hint = "the token lacks a permission or scope this needs"
        return Forbidden(f"GitHub refused {url} (403 {message}) — {hint}")
    if status in (404, 410):
        return Unavailable(
            f"{url} is not available ({status} {message}) — it was removed, or the token "
            "cannot see it"
        )
    if status == 451:
        return Blocked(f"{url} is blocked for legal reasons (451 {message})")
    if status == 422:
        return Unprocessable(f"GitHub refused the request {url} as invalid (422 {message})")
    if status == 409:
        return Unprocessable(f"GitHub answered 409 Conflict for {url}: {message}")
    return PermanentError(f"GitHub answered {status} {reason} for {url}: {message}")


def describe_failure(exc: BaseException, url: str, timeout: float) -> str:
    """A transport failure (httpx) in words, naming the URL without credentials."""
    shown = without_credentials(url)
    if isinstance(exc, httpx.TimeoutException):
        return f"GitHub did not answer {shown} within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the connection broke while reading {shown} (truncated answer: {exc})"
    if isinstance(exc, httpx.DecodingError):
        return f"GitHub's answer for {shown} could not be decoded ({exc})"
    return f"could not reach {shown} ({type(exc).__name__}: {exc})"
