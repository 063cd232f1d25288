"""RestClient against httpx.MockTransport: auth, URLs, pagination, errors, retries, rate limits."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from gh_year_end import __version__
from gh_year_end.config import RateLimitConfig, parse_config
from gh_year_end.errors import (
    AuthenticationFailed,
    Blocked,
    Forbidden,
    ForeignNextLink,
    GhyeError,
    PermanentError,
    RateLimitExhausted,
    TokenMissing,
    TransientError,
    Unavailable,
    Unprocessable,
)
from gh_year_end.github import Page, RestClient, resolve_token
from gh_year_end.github.client import RATE_LIMIT_RETRIES, token_variable
from gh_year_end.github.ratelimit import MAX_WAIT_SECONDS

TOKEN = "ghp_SECRETtoken0123456789abcdefABCDEF"
API = "https://api.github.com"
NOW = 1_700_000_000.0
T = TypeVar("T")
Handler = Callable[[httpx.Request], Any]  # sync or async, as MockTransport takes


class FakeTime:
    """A clock that only moves when someone sleeps; sleeps are recorded, never real."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def rate_config(**overrides: Any) -> RateLimitConfig:
    values: dict[str, Any] = {
        "max_concurrency": 4,
        "points_per_minute": 900,
        "max_retries": 3,
        "backoff_base_seconds": 1.0,
        "backoff_max_seconds": 60.0,
        "secondary_min_wait_seconds": 60.0,
        "reset_margin_seconds": 1.0,
        "request_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return RateLimitConfig(**values)


def make_client(
    handler: Handler,
    t: FakeTime,
    *,
    api_url: str = API,
    on_wait: Callable[[str, float], None] | None = None,
    **rate: Any,
) -> RestClient:
    return RestClient(
        api_url=api_url,
        token=TOKEN,
        rate=rate_config(**rate),
        transport=httpx.MockTransport(handler),
        sleep=t.sleep,
        clock=t.clock,
        on_wait=on_wait,
        rng=random.Random(1),
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch(client: RestClient, url: str, **kwargs: Any) -> Page:
    async with client:
        return await client.get_page(url, **kwargs)


async def fail(client: RestClient, url: str, **kwargs: Any) -> GhyeError:
    async with client:
        try:
            await client.get_page(url, **kwargs)
        except GhyeError as exc:
            return exc
    raise AssertionError("no error raised")


def json_response(
    status: int, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, content=orjson.dumps(body), headers=headers or {})


def rate_headers(remaining: int, reset: float, limit: int = 5000) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(limit),
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-used": str(limit - remaining),
        "x-ratelimit-reset": str(int(reset)),
        "x-ratelimit-resource": "core",
    }


def assert_no_token(error: BaseException) -> None:
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)
    for value in vars(error).values():
        assert TOKEN not in str(value)


# --- auth and headers --------------------------------------------------------------------


def test_sends_bearer_token_and_githubs_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, [])

    run(fetch(make_client(handler, FakeTime()), "/orgs/acme/repos"))
    headers = seen[0].headers
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == f"ghye/{__version__}"


def test_resolve_token_reads_the_configured_variable() -> None:
    assert resolve_token("MY_TOKEN", {"MY_TOKEN": " abc \n", "GH_TOKEN": "other"}) == "abc"


def test_resolve_token_falls_back_to_gh_token_like_the_gh_cli() -> None:
    assert resolve_token("GITHUB_TOKEN", {"GITHUB_TOKEN": "", "GH_TOKEN": "fromgh"}) == "fromgh"


def test_missing_token_says_what_to_set() -> None:
    with pytest.raises(TokenMissing) as caught:
        resolve_token("GITHUB_TOKEN", {})
    assert str(caught.value) == (
        "no GitHub token: set GITHUB_TOKEN (or the variable named by github.auth.token_env)"
        " — e.g. export GITHUB_TOKEN=…"
    )


def test_missing_token_names_a_custom_variable() -> None:
    with pytest.raises(TokenMissing, match="set ACME_TOKEN"):
        resolve_token("ACME_TOKEN", {})


def test_from_config_without_token_fails_before_any_request() -> None:
    config = parse_config("github:\n  target: {mode: org, name: acme}\n  windows: {year: 2024}\n")
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return json_response(200, [])

    with pytest.raises(TokenMissing):
        RestClient.from_config(config, environ={}, transport=httpx.MockTransport(handler))
    assert calls == []


def test_from_config_uses_api_url_and_token() -> None:
    config = parse_config(
        "github:\n  api_url: https://ghe.example.com/api/v3\n"
        "  target: {mode: org, name: acme}\n  windows: {year: 2024}\n"
    )
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, {"login": "acme"})

    async def main() -> dict[str, Any]:
        async with RestClient.from_config(
            config, environ={"GITHUB_TOKEN": TOKEN}, transport=httpx.MockTransport(handler)
        ) as client:
            return await client.get_object("/orgs/acme")

    assert run(main()) == {"login": "acme"}
    assert str(seen[0].url) == "https://ghe.example.com/api/v3/orgs/acme"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_token_with_spaces_is_refused_without_echoing_it() -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        RestClient(api_url=API, token="ghp_abc def", rate=rate_config())
    assert "ghp_abc def" not in str(caught.value)


def test_repr_of_client_hides_the_token() -> None:
    client = make_client(lambda r: json_response(200, []), FakeTime())
    assert TOKEN not in repr(client)
    # Nor its parts: the token lives in its credential, shown by its variable's name only, and
    # the Authorization header is made per request.
    assert TOKEN not in repr(client.pool.lanes)
    assert TOKEN not in repr(vars(client._exchange))
    assert TOKEN not in repr(client._transport)
    run(client.aclose())


# --- URLs and pagination -----------------------------------------------------------------


def test_api_url_path_prefix_is_kept() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return json_response(200, [])

    client = make_client(handler, FakeTime(), api_url="https://ghe.example.com/api/v3/")
    run(fetch(client, "/repos/o/r/pulls", params={"per_page": 100, "state": "all"}))
    assert seen == ["https://ghe.example.com/api/v3/repos/o/r/pulls?per_page=100&state=all"]


def test_next_link_is_returned_and_followed_verbatim() -> None:
    next_url = f"{API}/repositories/42/pulls?state=all&per_page=100&page=2"
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/repos/o/r/pulls":
            link = f'<{next_url}>; rel="next", <{API}/repositories/42/pulls?page=9>; rel="last"'
            return json_response(
                200,
                [{"id": 1}, {"id": 2}],
                headers={
                    "link": link,
                    "x-github-request-id": "AB:CD",
                    **rate_headers(4999, NOW + 60),
                },
            )
        return json_response(200, [{"id": 3}], headers={"link": f'<{API}/x?page=1>; rel="first"'})

    async def main() -> tuple[Page, Page]:
        async with make_client(handler, FakeTime()) as client:
            first = await client.get_page("/repos/o/r/pulls", {"state": "all", "per_page": 100})
            assert first.next_url is not None
            return first, await client.get_page(first.next_url)

    first, second = run(main())
    assert first.records == [{"id": 1}, {"id": 2}]
    assert first.data is first.records
    assert first.next_url == next_url
    assert first.meta.status == 200
    assert first.meta.request_id == "AB:CD"
    assert first.meta.rate is not None
    assert first.meta.rate.remaining == 4999
    assert seen[1] == next_url
    assert second.records == [{"id": 3}]
    assert second.next_url is None


@pytest.mark.parametrize(
    ("foreign", "shown"),
    [
        ("https://evil.example.com/repositories/42/pulls?page=2", "https://evil.example.com"),
        ("http://api.github.com/repositories/42/pulls?page=2", "http://api.github.com"),
        ("https://api.github.com:8443/repositories/42/pulls?page=2", "https://api.github.com:8443"),
    ],
)
def test_foreign_next_link_is_not_followed_and_gets_no_token(foreign: str, shown: str) -> None:
    hosts: list[tuple[str, str, int | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append((request.url.scheme, request.url.host, request.url.port))
        return json_response(200, [{"id": 1}], headers={"link": f'<{foreign}>; rel="next"'})

    async def main() -> GhyeError:
        async with make_client(handler, FakeTime()) as client:
            try:
                # Refused with the page that carries it: a foreign next link is never handed on
                # (the page would commit it to the checkpoint).
                await client.get_page("/repos/o/r/pulls")
            except GhyeError as exc:
                return exc
        raise AssertionError("a foreign next link was handed on")

    error = run(main())
    assert isinstance(error, ForeignNextLink)
    assert str(error) == (
        f"GitHub's next link points at {shown}, not https://api.github.com — not followed, "
        "so the token stays with the configured API"
    )
    assert hosts == [("https", "api.github.com", None)]
    assert error.url == foreign


def test_a_foreign_next_link_that_echoes_the_token_is_refused_without_showing_it() -> None:
    foreign = f"https://evil.example.com/collect?t={TOKEN}"

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(200, [{"id": 1}], headers={"link": f'<{foreign}>; rel="next"'})

    async def main() -> GhyeError:
        async with make_client(handler, FakeTime()) as client:
            try:
                await client.get_page("/repos/o/r/pulls")
            except GhyeError as exc:
                return exc
        raise AssertionError("a foreign next link was handed on")

    error = run(main())
    assert isinstance(error, ForeignNextLink)
    assert TOKEN not in str(error)
    assert error.url is not None
    assert TOKEN not in error.url
    assert error.url == "https://evil.example.com/collect?t=***"


def test_same_origin_redirect_is_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/repos/old/r/pulls":
            return httpx.Response(301, headers={"location": f"{API}/repositories/7/pulls?page=1"})
        return json_response(200, [{"id": 1}])

    page = run(fetch(make_client(handler, FakeTime()), "/repos/old/r/pulls", params={"page": 1}))
    assert page.records == [{"id": 1}]
    assert str(seen[1].url) == f"{API}/repositories/7/pulls?page=1"
    assert seen[1].headers["authorization"] == f"Bearer {TOKEN}"


def test_foreign_redirect_is_refused_and_never_requested() -> None:
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return httpx.Response(302, headers={"location": "https://objects.example.net/x"})

    error = run(fail(make_client(handler, FakeTime()), "/repos/o/r/tarball"))
    assert isinstance(error, ForeignNextLink)
    assert "redirect points at https://objects.example.net" in str(error)
    assert hosts == ["api.github.com"]


def test_endless_redirects_stop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("n", "0"))
        return httpx.Response(307, headers={"location": f"{API}/loop?n={n + 1}"})

    error = run(fail(make_client(handler, FakeTime()), "/loop"))
    assert isinstance(error, PermanentError)
    assert "redirected" in str(error)


# --- status classes ----------------------------------------------------------------------


def test_401_is_authentication_failed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(
            401, {"message": "Bad credentials"}, headers={"x-github-request-id": "R1"}
        )

    error = run(fail(make_client(handler, FakeTime()), "/user"))
    assert isinstance(error, AuthenticationFailed)
    assert str(error).startswith(
        "GitHub rejected the token (401 Bad credentials) — check GITHUB_TOKEN"
    )
    assert vars(error)["status"] == 401
    assert vars(error)["request_id"] == "R1"
    assert vars(error)["url"] == f"{API}/user"


@pytest.mark.parametrize(
    ("status", "message", "cls"),
    [
        (403, "Resource protected by organization SAML enforcement.", Forbidden),
        (403, "Resource not accessible by personal access token", Forbidden),
        (404, "Not Found", Unavailable),
        (410, "Issues are disabled for this repo", Unavailable),
        (451, "Repository access blocked", Blocked),
        (422, "Validation Failed", Unprocessable),
        (409, "Git Repository is empty.", Unprocessable),
        (400, "Problems parsing JSON", PermanentError),
    ],
)
def test_status_classes_keep_githubs_message_and_facts(
    status: int, message: str, cls: type[PermanentError]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(
            status,
            {"message": message, "documentation_url": "https://docs.github.com"},
            headers={"x-github-request-id": "REQ-9", **rate_headers(4000, NOW + 60)},
        )

    t = FakeTime()
    error = run(fail(make_client(handler, t), "/repos/o/r/issues", params={"page": 3}))
    assert type(error) is cls
    assert isinstance(error, PermanentError)
    assert message in str(error)
    assert error.status == status
    assert error.url == f"{API}/repos/o/r/issues?page=3"
    assert error.request_id == "REQ-9"
    assert not error.retryable
    assert t.sleeps == []


def test_saml_forbidden_says_to_authorize_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(
            403, {"message": "Resource protected by organization SAML enforcement."}
        )

    error = run(fail(make_client(handler, FakeTime()), "/orgs/acme/repos"))
    assert "SAML single sign-on" in str(error)


def test_409_with_empty_on_409_is_an_empty_last_page() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(409, {"message": "Git Repository is empty."})

    page = run(fetch(make_client(handler, FakeTime()), "/repos/o/r/commits", empty_on_409=True))
    assert page.records == []
    assert page.next_url is None
    assert page.meta.status == 409


NEXT = '<https://api.github.com/x?page=3>; rel="next"'
ODD_ANSWERS = {
    "empty body": (200, b""),
    "null": (200, b"null"),
    "202": (202, b""),
    "204": (204, b""),
    "an object": (200, b'{"message": "ok"}'),
    "a null item": (200, b'[{"id": 1}, null]'),
    "a string item": (200, b'[{"id": 1}, "not a record"]'),
    "an id that is a list": (200, b'[{"id": [1, 2]}]'),
    "an item without id": (200, b'[{"title": "x"}]'),
}


@pytest.mark.parametrize("odd", list(ODD_ANSWERS), ids=list(ODD_ANSWERS))
def test_an_odd_2xx_answer_is_retried_and_never_ends_the_list(odd: str) -> None:
    status, body = ODD_ANSWERS[odd]
    answers = [
        httpx.Response(status, content=body, headers={"link": NEXT}),
        json_response(200, [{"id": 7}], headers={"link": NEXT}),
    ]
    client = make_client(lambda r: answers.pop(0), FakeTime())
    page = run(fetch(client, "/x?page=2"))
    assert page.records == [{"id": 7}]
    assert page.next_url == "https://api.github.com/x?page=3"
    assert client.stats.retries == 1


def test_an_odd_answer_every_time_fails_naming_the_url_and_what_came() -> None:
    client = make_client(lambda r: httpx.Response(200, content=b"null"), FakeTime(), max_retries=2)
    error = run(fail(client, "/repos/o/r/pulls"))
    assert isinstance(error, TransientError)
    assert error.retryable
    assert str(error) == (
        "GitHub answered https://api.github.com/repos/o/r/pulls with null where a list of "
        "records belongs — gave up after 3 attempts; `ghye resume` continues from this page"
    )


def test_commits_use_sha_as_the_record_key() -> None:
    client = make_client(lambda r: json_response(200, [{"sha": "abc"}]), FakeTime())
    assert run(fetch(client, "/repos/o/r/commits", key="sha")).records == [{"sha": "abc"}]


def test_an_answer_that_is_not_an_object_is_retried_by_get_object() -> None:
    answers = [json_response(200, []), json_response(200, {"login": "me"})]

    async def main() -> dict[str, Any]:
        async with make_client(lambda r: answers.pop(0), FakeTime()) as client:
            return await client.get_object("/user")

    assert run(main()) == {"login": "me"}


# --- retries -----------------------------------------------------------------------------


def test_5xx_is_retried_with_backoff_then_transient_error() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return json_response(502, {"message": "Server Error"}, headers={"x-github-request-id": "Z"})

    t = FakeTime()
    client = make_client(handler, t, max_retries=3, backoff_base_seconds=2.0)
    error = run(fail(client, "/repos/o/r/pulls"))
    assert isinstance(error, TransientError)
    assert error.retryable
    assert error.status == 502
    assert error.request_id == "Z"
    assert "gave up after 4 attempts" in str(error)
    assert len(calls) == 4
    assert len(t.sleeps) == 3
    assert all(0 <= s <= 2.0 * 2**i for i, s in enumerate(t.sleeps))
    stats = client.stats
    assert stats.retries == 3
    assert stats.requests == 4
    assert stats.responses == {502: 4}


def test_5xx_then_success() -> None:
    answers = [json_response(503, {}), json_response(500, {}), json_response(200, [{"id": 1}])]
    page = run(fetch(make_client(lambda r: answers.pop(0), FakeTime()), "/x"))
    assert page.records == [{"id": 1}]


def test_5xx_retry_after_is_honoured() -> None:
    answers = [httpx.Response(503, headers={"retry-after": "5"}), json_response(200, [])]
    t = FakeTime()
    run(fetch(make_client(lambda r: answers.pop(0), t), "/x"))
    assert t.sleeps == [5.0]


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
)
def test_transport_failures_are_retried(exc: Exception) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 3:
            raise exc
        return json_response(200, [{"id": 1}])

    page = run(fetch(make_client(handler, FakeTime()), "/x"))
    assert page.records == [{"id": 1}]
    assert len(calls) == 3


class TrickledBody(httpx.AsyncByteStream):
    """A body that arrives one byte at a time, each after a short real pause."""

    def __init__(self, body: bytes, pause: float) -> None:
        self.body, self.pause = body, pause

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(len(self.body)):
            await asyncio.sleep(self.pause)
            yield self.body[i : i + 1]


def test_request_timeout_bounds_the_whole_request_not_each_read() -> None:
    body = orjson.dumps([{"id": 1}])
    answers = [
        httpx.Response(200, stream=TrickledBody(body, 0.05)),  # ~0.6 s in all, no read slow
        json_response(200, [{"id": 1}]),
    ]
    client = make_client(lambda r: answers.pop(0), FakeTime(), request_timeout_seconds=0.2)
    page = run(fetch(client, "/x"))
    assert page.records == [{"id": 1}]
    assert client.stats.retries == 1


def test_a_body_that_never_finishes_ends_in_transient_error_naming_the_setting() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=TrickledBody(b"[" * 100, 0.05))

    client = make_client(handler, FakeTime(), request_timeout_seconds=0.1, max_retries=1)
    error = run(fail(client, "/x"))
    assert isinstance(error, TransientError)
    assert str(error) == (
        "GitHub did not finish answering https://api.github.com/x within 0.1 s "
        "(request_timeout_seconds) — gave up after 2 attempts; `ghye resume` continues from "
        "this page"
    )


def test_timeouts_end_in_transient_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    error = run(fail(make_client(handler, FakeTime(), max_retries=2), "/x"))
    assert isinstance(error, TransientError)
    assert "did not answer" in str(error)
    assert isinstance(error.__cause__, httpx.ReadTimeout)


class TruncatedBody(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'[{"id": 1}, {"id"'
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body (incomplete chunked read)"
        )


def test_truncated_body_is_retried() -> None:
    answers = [httpx.Response(200, stream=TruncatedBody()), json_response(200, [{"id": 1}])]
    t = FakeTime()
    client = make_client(lambda r: answers.pop(0), t)
    page = run(fetch(client, "/x"))
    assert page.records == [{"id": 1}]
    assert client.stats.retries == 1


def test_invalid_json_is_retried() -> None:
    answers = [
        httpx.Response(200, content=b'[{"id": 1}, {"id": 2'),
        json_response(200, [{"id": 1}, {"id": 2}]),
    ]
    page = run(fetch(make_client(lambda r: answers.pop(0), FakeTime()), "/x"))
    assert page.records == [{"id": 1}, {"id": 2}]


def test_invalid_json_every_time_is_transient() -> None:
    error = run(
        fail(make_client(lambda r: httpx.Response(200, content=b"<html>"), FakeTime()), "/x")
    )
    assert isinstance(error, TransientError)
    assert "not valid JSON" in str(error)


def test_long_backoff_is_announced() -> None:
    waits: list[tuple[str, float]] = []
    answers = [json_response(502, {})] * 6 + [json_response(200, [])]
    t = FakeTime()
    client = make_client(
        lambda r: answers.pop(0),
        t,
        on_wait=lambda r, s: waits.append((r, s)),
        max_retries=6,
        backoff_base_seconds=10.0,
    )
    run(fetch(client, "/x"))
    long_sleeps = [s for s in t.sleeps if s > 3.0]
    assert [s for _, s in waits] == long_sleeps
    assert all("502" in reason for reason, _ in waits)


# --- rate limits -------------------------------------------------------------------------


def test_primary_limit_403_waits_for_reset_then_succeeds() -> None:
    t = FakeTime()
    reset = NOW + 1200
    waits: list[tuple[str, float]] = []
    answers = [
        json_response(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            headers=rate_headers(0, reset),
        ),
        json_response(200, [{"id": 1}], headers=rate_headers(4999, reset + 3600)),
    ]
    client = make_client(
        lambda r: answers.pop(0),
        t,
        on_wait=lambda r, s: waits.append((r, s)),
        reset_margin_seconds=2.0,
        max_retries=0,
    )
    page = run(fetch(client, "/x"))
    assert page.records == [{"id": 1}]
    assert t.sleeps == [pytest.approx(reset - NOW + 2.0)]
    assert len(waits) == 1
    assert waits[0][1] == pytest.approx(1202.0)
    assert "primary rate limit" in waits[0][0]
    stats = client.stats
    assert stats.rate_limit_hits == 1
    assert stats.secondary_hits == 0
    assert stats.retries == 0  # waiting for a reset is not a retry
    assert stats.waited_seconds == pytest.approx(1202.0)


def test_nonsense_reset_is_clamped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    t = FakeTime()
    answers = [
        json_response(
            403,
            {"message": "API rate limit exceeded"},
            headers=rate_headers(0, NOW + 5 * 365 * 86400),
        ),
        json_response(200, []),
    ]
    with caplog.at_level(logging.WARNING):
        run(fetch(make_client(lambda r: answers.pop(0), t), "/x"))
    assert t.sleeps == [pytest.approx(MAX_WAIT_SECONDS + 1.0)]
    assert any("one hour" in r.getMessage() for r in caplog.records)


def test_reset_in_milliseconds_is_read_as_seconds() -> None:
    t = FakeTime()
    answers = [
        json_response(
            429, {"message": "API rate limit exceeded"}, headers=rate_headers(0, (NOW + 30) * 1000)
        ),
        json_response(200, []),
    ]
    run(fetch(make_client(lambda r: answers.pop(0), t), "/x"))
    assert t.sleeps == [pytest.approx(31.0)]


def test_429_with_retry_after_seconds() -> None:
    t = FakeTime()
    answers = [
        httpx.Response(429, headers={"retry-after": "30"}),
        json_response(200, [{"id": 1}]),
    ]
    client = make_client(lambda r: answers.pop(0), t)
    run(fetch(client, "/x"))
    assert t.sleeps == [pytest.approx(30.0)]
    assert client.stats.secondary_hits == 1
    assert client.stats.rate_limit_hits == 1


def test_403_with_retry_after_http_date() -> None:
    t = FakeTime()
    when = format_datetime(datetime.fromtimestamp(NOW + 45, tz=UTC), usegmt=True)
    answers = [
        json_response(
            403,
            {"message": "You have exceeded a secondary rate limit."},
            headers={"retry-after": when},
        ),
        json_response(200, []),
    ]
    run(fetch(make_client(lambda r: answers.pop(0), t), "/x"))
    assert t.sleeps == [pytest.approx(45.0)]


def test_secondary_limit_without_retry_after_waits_a_minute_and_grows() -> None:
    t = FakeTime()
    waits: list[tuple[str, float]] = []
    secondary = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    answers = [json_response(403, secondary), json_response(403, secondary), json_response(200, [])]
    client = make_client(lambda r: answers.pop(0), t, on_wait=lambda r, s: waits.append((r, s)))
    run(fetch(client, "/x"))
    assert t.sleeps == [pytest.approx(60.0), pytest.approx(120.0)]
    assert [s for _, s in waits] == [pytest.approx(60.0), pytest.approx(120.0)]
    assert all("secondary rate limit" in reason for reason, _ in waits)
    assert client.stats.secondary_hits == 2


def test_secondary_minimum_wait_comes_from_config() -> None:
    t = FakeTime()
    secondary = {"message": "You have exceeded a secondary rate limit."}
    answers = [json_response(403, secondary), json_response(200, [])]
    run(fetch(make_client(lambda r: answers.pop(0), t, secondary_min_wait_seconds=90.0), "/x"))
    assert t.sleeps == [pytest.approx(90.0)]


def test_rate_limit_that_never_lifts_is_exhausted() -> None:
    t = FakeTime()

    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(
            403, {"message": "API rate limit exceeded"}, headers=rate_headers(0, t.now + 60)
        )

    client = make_client(handler, t)
    error = run(fail(client, "/x"))
    assert isinstance(error, RateLimitExhausted)
    assert error.retryable
    assert error.status == 403
    assert client.stats.rate_limit_hits == RATE_LIMIT_RETRIES + 1


def test_a_rate_limit_message_without_rate_headers_is_a_limit_not_a_refusal() -> None:
    # A proxy stripped x-ratelimit-*: the message alone says what it is.
    t = FakeTime()
    answers = [
        json_response(403, {"message": "API rate limit exceeded for user ID 1."}),
        json_response(403, {"message": "API rate limit exceeded for user ID 1."}),
        json_response(200, [{"id": 1}]),
    ]
    client = make_client(lambda r: answers.pop(0), t, secondary_min_wait_seconds=30.0)
    page = run(fetch(client, "/x"))
    assert page.records == [{"id": 1}]
    assert t.sleeps == [pytest.approx(30.0), pytest.approx(60.0)]  # doubling: no reset known
    assert client.stats.rate_limit_hits == 2


def test_hits_inside_a_pause_another_answer_began_do_not_use_up_retries() -> None:
    # Two requests meet the primary limit in 8 rounds; in each round one of them is answered
    # first and begins the pause, the other is answered inside it. Each begins 4 pauses —
    # fewer than RATE_LIMIT_RETRIES — and meets 8 limits in all.
    t = FakeTime()
    rounds = 8
    seen = {"/a": 0, "/b": 0}
    client_box: list[RestClient] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        n = seen[path]
        seen[path] += 1
        if n >= rounds:
            return json_response(200, [{"id": 1}])
        limiter = client_box[0].pool.lanes[0].limiter
        before = limiter.limit_answers
        first = "/a" if n % 2 == 0 else "/b"
        other = "/b" if path == "/a" else "/a"
        for _ in range(1000):  # both requests in flight before either is answered
            if seen[other] > n:
                break
            await asyncio.sleep(0)
        if path != first:
            for _ in range(1000):  # until the first answer began its pause
                if limiter.limit_answers != before:
                    break
                await asyncio.sleep(0)
            else:
                raise AssertionError(f"{first} was not answered first in round {n}")
        return json_response(
            403, {"message": "API rate limit exceeded"}, headers=rate_headers(0, t.now + 10)
        )

    async def main() -> list[Page]:
        async with make_client(handler, t) as client:
            client_box.append(client)
            return list(await asyncio.gather(client.get_page("/a"), client.get_page("/b")))

    assert rounds > RATE_LIMIT_RETRIES
    pages = run(main())
    assert [p.records for p in pages] == [[{"id": 1}], [{"id": 1}]]
    assert seen == {"/a": rounds + 1, "/b": rounds + 1}


def test_secondary_pause_holds_every_worker() -> None:
    t = FakeTime()
    started: list[float] = []
    first = [True]

    async def handler(request: httpx.Request) -> httpx.Response:
        started.append(t.now)
        if first[0]:
            first[0] = False
            return json_response(403, {"message": "You have exceeded a secondary rate limit."})
        return json_response(200, [])

    async def main() -> None:
        async with make_client(handler, t, max_concurrency=1) as client:
            await asyncio.gather(*(client.get_page(f"/x/{i}") for i in range(4)))

    run(main())
    assert started[0] == NOW
    assert all(s >= NOW + 60 for s in started[1:])
    assert t.now == pytest.approx(NOW + 60)


def test_budget_running_out_pauses_before_any_403() -> None:
    t = FakeTime()
    reset = NOW + 100
    remaining = [3]

    def handler(request: httpx.Request) -> httpx.Response:
        if t.now >= reset:
            return json_response(200, [], headers=rate_headers(4999, reset + 3600))
        if remaining[0] == 0:
            return json_response(
                403, {"message": "API rate limit exceeded"}, headers=rate_headers(0, reset)
            )
        remaining[0] -= 1
        return json_response(200, [], headers=rate_headers(remaining[0], reset))

    async def main() -> RestClient:
        async with make_client(handler, t, reset_margin_seconds=0.5) as client:
            for i in range(6):
                await client.get_page(f"/x/{i}")
            return client

    client = run(main())
    assert client.stats.rate_limit_hits == 0
    assert t.sleeps == [pytest.approx(100.5)]
    assert client.rate_state is not None
    assert client.rate_state.remaining == 4999


def test_concurrency_never_exceeds_max() -> None:
    in_flight = [0]
    peak = [0]

    async def handler(request: httpx.Request) -> httpx.Response:
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.001)
        in_flight[0] -= 1
        return json_response(200, [])

    async def main() -> RestClient:
        async with make_client(handler, FakeTime(), max_concurrency=2) as client:
            await asyncio.gather(*(client.get_page(f"/x/{i}") for i in range(12)))
            return client

    client = run(main())
    assert peak[0] == 2
    assert client.stats.max_in_flight == 2
    assert client.stats.requests == 12


# --- the seed's call and objects ---------------------------------------------------------


def test_get_pulls_as_the_seed_calls_it() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, [{"id": 5, "number": 1}])

    async def main() -> Page:
        async with make_client(handler, FakeTime()) as rest_client:
            return await rest_client.get_pulls(repo="acme/app", page=2, per_page=100)

    response = run(main())
    assert response.data == [{"id": 5, "number": 1}]
    assert seen[0].url.path == "/repos/acme/app/pulls"
    assert dict(seen[0].url.params) == {"state": "all", "per_page": "100", "page": "2"}


def test_get_object_returns_the_object() -> None:
    async def main() -> dict[str, Any]:
        async with make_client(lambda r: json_response(200, {"login": "me"}), FakeTime()) as c:
            return await c.get_object("/user")

    assert run(main()) == {"login": "me"}


# --- the token never leaks ---------------------------------------------------------------

LEAKY_SCENARIOS: dict[str, Handler] = {
    "401": lambda r: json_response(401, {"message": f"Bad credentials {TOKEN}"}),
    "403": lambda r: json_response(403, {"message": f"no access for {TOKEN}"}),
    "404": lambda r: json_response(404, {"message": "Not Found"}),
    "422": lambda r: json_response(422, {"message": f"bad {TOKEN}"}),
    "502": lambda r: json_response(502, {"message": "bad gateway"}),
    "connect": lambda r: (_ for _ in ()).throw(httpx.ConnectError(f"refused {TOKEN}")),
    "bad json": lambda r: httpx.Response(200, content=b"{"),
    "limit": lambda r: json_response(403, {"message": "x"}, headers=rate_headers(0, NOW + 5)),
    "foreign": lambda r: json_response(
        200, [], headers={"link": '<https://evil.test/x>; rel="next"'}
    ),
}


@pytest.mark.parametrize("name", sorted(LEAKY_SCENARIOS))
def test_token_absent_from_errors_and_logs(name: str, caplog: pytest.LogCaptureFixture) -> None:
    handler = LEAKY_SCENARIOS[name]

    async def main() -> GhyeError:
        async with make_client(handler, FakeTime(), on_wait=lambda r, s: None) as client:
            try:
                page = await client.get_page("/repos/o/r/pulls")
                assert page.next_url is not None
                await client.get_page(page.next_url)
            except GhyeError as exc:
                return exc
        raise AssertionError("no error")

    with caplog.at_level(logging.DEBUG):
        error = run(main())
    assert_no_token(error)
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


def test_a_rejected_token_names_the_variable_it_came_from() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return json_response(401, {"message": "Bad credentials"})

    client = RestClient(
        api_url=API, token=TOKEN, rate=rate_config(), token_name="ACME_GH_TOKEN",
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    error = run(fail(client, "/user"))
    assert str(error).startswith("GitHub rejected the token (401 Bad credentials) — check ACME_GH")


def test_the_token_variable_is_the_configured_one_else_gh_token() -> None:
    both = {"ACME_GH_TOKEN": "t", "GH_TOKEN": "u"}
    assert token_variable("ACME_GH_TOKEN", both) == "ACME_GH_TOKEN"
    assert token_variable("ACME_GH_TOKEN", {**both, "ACME_GH_TOKEN": " "}) == "GH_TOKEN"
