"""Several credentials: each with its own budgets, requests where budget remains, a refused one
dropped while others remain, two of one account noticed (a mock GitHub that counts per token)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import httpx
import orjson
import pytest

from gh_year_end.config import RateLimitConfig
from gh_year_end.errors import AuthenticationFailed, TokenMissing
from gh_year_end.github.client import RestClient
from gh_year_end.github.credentials import StaticToken, token_credentials

NOW = 1_800_000_000.0
API = "https://api.github.com"
RATE = RateLimitConfig(
    max_concurrency=4,
    points_per_minute=100_000,
    backoff_base_seconds=0.0,
    backoff_max_seconds=0.0,
    secondary_min_wait_seconds=1.0,
    reset_margin_seconds=1.0,
)


class Clock:
    """Time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = NOW
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds
        await asyncio.sleep(0)


class Budgets:
    """A GitHub whose tokens each get ``limit`` requests per 60 s window (per account: tokens
    mapped to one account share it)."""

    def __init__(
        self,
        clock: Clock,
        limit: int,
        accounts: dict[str, str],
        limits: dict[str, int] | None = None,
    ) -> None:
        self.clock, self.limit, self.accounts = clock, limit, accounts
        self.limits = limits or {}  # per account, where it is not ``limit``
        self.used: Counter[str] = Counter()
        self.reset = NOW + 60
        self.sent: Counter[str] = Counter()
        self.refused = 0
        self.revoked: set[str] = set()

    async def answer(self, request: httpx.Request) -> httpx.Response:
        """:meth:`handler`, after a few turns of the event loop: requests overlap as on a
        network."""
        for _ in range(3):
            await asyncio.sleep(0)
        return self.handler(request)

    def handler(self, request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].removeprefix("Bearer ")
        self.sent[token] += 1
        if token in self.revoked or token not in self.accounts:
            return httpx.Response(401, json={"message": "Bad credentials"})
        if self.clock.now >= self.reset:
            self.used.clear()
            self.reset = self.clock.now + 60
        account = self.accounts[token]
        limit = self.limits.get(account, self.limit)
        remaining = limit - self.used[account]
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-reset": str(int(self.reset)),
            "x-ratelimit-resource": "core",
        }
        if remaining <= 0:
            self.refused += 1
            headers["x-ratelimit-remaining"] = "0"
            return httpx.Response(403, json={"message": "API rate limit exceeded"}, headers=headers)
        self.used[account] += 1
        headers["x-ratelimit-remaining"] = str(remaining - 1)
        if request.url.path == "/user":
            body: Any = {"login": account, "id": hash(account) % 10_000}
        else:
            body = [{"id": 1}]
        return httpx.Response(200, content=orjson.dumps(body), headers=headers)


def _client(budgets: Budgets, clock: Clock, tokens: list[str], **rate: Any) -> RestClient:
    warnings: list[str] = []
    client = RestClient(
        api_url=API,
        rate=RateLimitConfig(**{**RATE.__dict__, **rate}),
        transport=httpx.MockTransport(budgets.answer),
        sleep=clock.sleep,
        clock=clock.time,
        rng=random.Random(1),
        on_warning=warnings.append,
        credentials=[StaticToken(t, f"TOKEN_{i}") for i, t in enumerate(tokens)],
    )
    client.warnings = warnings  # type: ignore[attr-defined]
    return client


async def _pages(client: RestClient, count: int) -> None:
    async with client:
        for i in range(count):
            await client.get_page(f"/repos/o/r/issues?page={i}")


def test_requests_go_where_budget_remains_and_no_limit_is_run_into() -> None:
    clock = Clock()
    budgets = Budgets(
        clock, 10, {"ghp_atoken": "alice", "ghp_btoken": "bob", "ghp_ctoken": "carol"}
    )
    asyncio.run(_pages(_client(budgets, clock, ["ghp_atoken", "ghp_btoken", "ghp_ctoken"]), 30))
    assert budgets.refused == 0
    assert clock.slept == 0.0  # three budgets of ten: thirty requests without a wait
    assert budgets.sent == Counter({"ghp_atoken": 10, "ghp_btoken": 10, "ghp_ctoken": 10})


def test_one_credential_spent_waits_for_its_reset_while_the_others_carry_on() -> None:
    clock = Clock()
    budgets = Budgets(clock, 10, {"ghp_atoken": "alice", "ghp_btoken": "bob"})
    asyncio.run(_pages(_client(budgets, clock, ["ghp_atoken", "ghp_btoken"]), 25))
    assert budgets.refused == 0  # the spent budget is waited for, never run into
    assert clock.slept >= 60  # 25 > 2 x 10: a reset was waited for
    assert sum(budgets.sent.values()) == 25


def test_a_refused_credential_is_dropped_with_a_warning_while_others_remain() -> None:
    clock = Clock()
    budgets = Budgets(clock, 100, {"ghp_atoken": "alice", "ghp_btoken": "bob"})
    budgets.revoked.add("ghp_atoken")
    client = _client(budgets, clock, ["ghp_atoken", "ghp_btoken"])
    asyncio.run(_pages(client, 6))
    assert budgets.sent["ghp_btoken"] == 6
    assert budgets.sent["ghp_atoken"] == 1  # refused once, never asked again
    warnings: list[str] = client.warnings  # type: ignore[attr-defined]
    assert len(warnings) == 1
    assert warnings[0].startswith("GitHub rejected the token (401 Bad credentials) — check TOKEN_0")
    assert warnings[0].endswith("continuing with TOKEN_1")
    assert "ghp_" not in warnings[0]


def test_the_last_credential_refused_is_authentication_failed() -> None:
    clock = Clock()
    budgets = Budgets(clock, 100, {"ghp_atoken": "alice", "ghp_btoken": "bob"})
    budgets.revoked |= {"ghp_atoken", "ghp_btoken"}
    with pytest.raises(AuthenticationFailed, match="check TOKEN_1"):
        asyncio.run(_pages(_client(budgets, clock, ["ghp_atoken", "ghp_btoken"]), 1))


def test_two_tokens_of_one_account_are_noticed_and_only_one_is_used() -> None:
    clock = Clock()
    budgets = Budgets(
        clock, 100, {"ghp_atoken": "alice", "ghp_btoken": "bob", "ghp_a2token": "alice"}
    )
    client = _client(budgets, clock, ["ghp_atoken", "ghp_btoken", "ghp_a2token"])

    async def go() -> None:
        async with client:
            await client.check_accounts()
            for i in range(9):
                await client.get_page(f"/x?{i}")

    asyncio.run(go())
    warnings: list[str] = client.warnings  # type: ignore[attr-defined]
    assert len(warnings) == 1
    assert "TOKEN_2 and TOKEN_0 belong to the same account (user alice" in warnings[0]
    assert "they share one rate-limit budget, so TOKEN_2 is not used" in warnings[0]
    assert budgets.sent["ghp_a2token"] == 1  # its GET /user, nothing more
    assert [lane.label for lane in client.pool.live] == ["TOKEN_0", "TOKEN_1"]


def test_one_credential_asks_nobody_who_it_is() -> None:
    clock = Clock()
    budgets = Budgets(clock, 100, {"ghp_atoken": "alice"})

    async def go() -> None:
        async with _client(budgets, clock, ["ghp_atoken"]) as client:
            await client.check_accounts()

    asyncio.run(go())
    assert sum(budgets.sent.values()) == 0


def test_the_display_budget_adds_every_credentials_up() -> None:
    clock = Clock()
    budgets = Budgets(clock, 10, {"ghp_atoken": "alice", "ghp_btoken": "bob"})
    client = _client(budgets, clock, ["ghp_atoken", "ghp_btoken"])
    asyncio.run(_pages(client, 4))
    state = client.rate_state
    assert state is not None
    assert (state.limit, state.remaining) == (20, 16)


def test_several_token_variables_must_each_hold_a_token() -> None:
    tokens = token_credentials(("T1", "T2"), {"T1": "x", "T2": " y "})
    assert [t.label for t in tokens] == ["T1", "T2"]
    with pytest.raises(TokenMissing, match=r"no GitHub token in T2, which github\.auth\.token_env"):
        token_credentials(("T1", "T2"), {"T1": "x"})
    # One variable falls back to GH_TOKEN, as the gh CLI does.
    assert token_credentials(("T1",), {"GH_TOKEN": "z"})[0].label == "GH_TOKEN"


def test_no_credential_appears_in_a_repr_or_a_message() -> None:
    token = StaticToken("ghp_secret123", "MY_TOKEN")
    assert "ghp_secret123" not in repr(token)
    clock = Clock()
    budgets = Budgets(clock, 100, {})
    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(_pages(_client(budgets, clock, ["ghp_secret123"]), 1))
    assert "ghp_secret123" not in str(caught.value)


def test_a_graphql_answer_whose_resource_header_is_stripped_is_filed_under_graphql() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4321",
            "x-ratelimit-reset": str(int(NOW + 600)),
        }  # no x-ratelimit-resource: a proxy dropped it
        return httpx.Response(200, content=b'{"data": {"ok": true}}', headers=headers)

    client = RestClient(
        api_url=API,
        rate=RATE,
        transport=httpx.MockTransport(handler),
        clock=lambda: NOW,
        credentials=[StaticToken("ghp_one", "TOKEN")],
    )

    async def go() -> None:
        async with client:
            await client.graphql("query { ok }", {})

    asyncio.run(go())
    assert client.pool.budget("core") is None  # REST's budget is not GraphQL's
    graphql = client.pool.budget("graphql")
    assert graphql is not None
    assert graphql.remaining == 4321


async def _concurrently(client: RestClient, count: int) -> None:
    async with client:
        await asyncio.gather(
            *(client.get_page(f"/repos/o/r/issues?page={i}") for i in range(count))
        )


def test_requests_made_together_spread_over_the_credentials() -> None:
    clock = Clock()
    tokens = {"ghp_atoken": "alice", "ghp_btoken": "bob", "ghp_ctoken": "carol"}
    budgets = Budgets(clock, 1000, tokens)
    asyncio.run(_concurrently(_client(budgets, clock, list(tokens)), 60))
    assert sum(budgets.sent.values()) == 60
    assert min(budgets.sent.values()) >= 15  # not piled onto the first one


def test_a_nearly_spent_credential_is_left_for_the_ones_with_budget_without_waiting() -> None:
    clock = Clock()
    tokens = {"ghp_atoken": "alice", "ghp_btoken": "bob"}
    budgets = Budgets(clock, 3600, tokens, limits={"alice": 2})
    asyncio.run(_concurrently(_client(budgets, clock, list(tokens)), 40))
    assert budgets.refused == 0
    assert clock.slept == 0.0  # bob's budget carried what alice's could not
    assert budgets.sent["ghp_atoken"] <= 2 + RATE.max_concurrency  # at most what was in flight
