"""The fake GitHub's conditional requests, over real HTTP: ETags on REST answers, 304s that
spend no primary budget, and everything else (accounts, limits, faults, counters) as GitHub."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from gh_year_end.testing.fakegithub.etags import VARY, etag, none_match

TOKEN = "test-token"
SAME_LOGIN = "test-token-2"  # a second token of fake-user: one account, one budget
OTHER = "bob-token"  # a token of another account
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SETTINGS = FakeSettings(
    token=TOKEN,
    tokens={SAME_LOGIN: "fake-user", OTHER: "bob"},
    repos=3,
    pulls=30,
    issues=10,
    issue_comments=20,
    review_comments=10,
    commits=10,
)
PULLS = "/repos/acme/repo-000/pulls?state=all&per_page=10"
WEAK_ETAG = re.compile(r'W/"[0-9a-f]{64}"')


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        yield c


def remaining(response: httpx.Response) -> int:
    return int(response.headers["x-ratelimit-remaining"])


def test_every_200_of_a_data_route_carries_a_weak_etag_and_vary(client: httpx.Client) -> None:
    for target in (
        PULLS,
        "/repos/acme/repo-000/pulls/1",
        "/repos/acme/repo-000/issues?state=all",
        "/repos/acme/repo-000/issues/comments",
        "/repos/acme/repo-000/pulls/comments",
        "/repos/acme/repo-000/commits",
        "/repos/acme/repo-000",
        "/orgs/acme/repos",
        "/orgs/acme",
        "/user",
    ):
        response = client.get(target)
        assert response.status_code == 200, target
        assert WEAK_ETAG.fullmatch(response.headers["etag"]), target
        assert response.headers["vary"] == VARY
    number = next(
        p["number"]
        for p in client.get(PULLS).json()
        if client.get(f"/repos/acme/repo-000/pulls/{p['number']}/reviews").json()
    )
    reviews = client.get(f"/repos/acme/repo-000/pulls/{number}/reviews")
    assert WEAK_ETAG.fullmatch(reviews.headers["etag"])


def test_the_etag_is_the_bodys_and_the_accounts(client: httpx.Client) -> None:
    first, again = client.get(PULLS), client.get(PULLS)
    assert first.headers["etag"] == again.headers["etag"]
    assert first.headers["etag"] == etag(first.content, "user:fake-user")
    assert etag(first.content, "user:bob") != first.headers["etag"]
    second_page = client.get(PULLS + "&page=2")
    assert second_page.headers["etag"] != first.headers["etag"]


def test_a_matching_if_none_match_is_answered_304_and_spends_no_core_budget(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    first = client.get(PULLS)
    before = fake.stats()
    conditional = client.get(PULLS, headers={"If-None-Match": first.headers["etag"]})
    after = fake.stats()

    assert conditional.status_code == 304
    assert conditional.content == b""
    assert conditional.headers["etag"] == first.headers["etag"]
    assert conditional.headers["vary"] == VARY
    assert remaining(conditional) == remaining(first)  # as it was before the request
    assert conditional.headers["x-ratelimit-used"] == first.headers["x-ratelimit-used"]
    assert "link" not in conditional.headers  # the client keeps the Link it stored
    assert after["requests"] == before["requests"] + 1
    assert after["not_modified"] == before["not_modified"] + 1
    assert after["core_spent"] == before["core_spent"]
    assert after["by_status"]["304"] == before["by_status"].get("304", 0) + 1
    assert fake.log()[-1]["status"] == 304
    assert remaining(client.get(PULLS)) == remaining(first) - 1  # a plain GET spends again


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ("{tag}", True),
        ("{opaque}", True),  # the strong form of a weak tag: weak comparison ignores W/
        ('"elsewhere", {tag}', True),
        ('W/"elsewhere",{opaque} , "x"', True),
        ("*", True),
        ('"elsewhere"', False),
        ('W/"elsewhere"', False),
        ("{bare}", False),  # not a quoted entity-tag
        ("", False),
    ],
)
def test_if_none_match_takes_lists_wildcards_and_compares_weakly(
    client: httpx.Client, header: str, matches: bool
) -> None:
    tag = client.get(PULLS).headers["etag"]
    opaque = tag.removeprefix("W/")
    sent = header.format(tag=tag, opaque=opaque, bare=opaque.strip('"'))
    assert none_match(sent, tag) is matches
    assert client.get(PULLS, headers={"If-None-Match": sent}).status_code == (
        304 if matches else 200
    )


def test_an_etag_from_another_account_does_not_match(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    mine = client.get(PULLS)
    other = {"Authorization": f"Bearer {OTHER}"}
    theirs = client.get(PULLS, headers=other)
    assert theirs.content == mine.content
    assert theirs.headers["etag"] != mine.headers["etag"]
    before = fake.stats()["core_spent_by_account"]
    refused = client.get(PULLS, headers={**other, "If-None-Match": mine.headers["etag"]})
    assert refused.status_code == 200
    assert fake.stats()["core_spent_by_account"]["bob"] == before["bob"] + 1
    # Another token of the same account: the same budget, the same ETag.
    same = {"Authorization": f"Bearer {SAME_LOGIN}"}
    assert client.get(PULLS, headers=same).headers["etag"] == mine.headers["etag"]
    answered = client.get(PULLS, headers={**same, "If-None-Match": mine.headers["etag"]})
    assert answered.status_code == 304


def test_no_etag_on_errors_rate_limit_graphql_or_introspection(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    for response in (
        client.get("/repos/acme/nothing-here/pulls"),
        client.get("/repos/acme/repo-000/pulls?state=bogus"),
        client.get("/rate_limit"),
        client.post(fake.origin + "/graphql", json={"query": "{ rateLimit { remaining } }"}),
        client.get(fake.origin + "/_fake/stats"),
    ):
        assert "etag" not in response.headers, response.request.url
    unauthorized = httpx.get(fake.url("/user"), headers={"If-None-Match": "*"})
    assert unauthorized.status_code == 401  # no credential: never a 304
    assert "etag" not in unauthorized.headers


def test_a_304_has_no_body_or_content_length_and_keeps_the_connection(fake: FakeGitHub) -> None:
    tag = httpx.get(fake.url(PULLS), headers=AUTH).headers["etag"]
    request = (
        f"GET {PULLS} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
        f"If-None-Match: {tag}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        for _ in range(2):  # the second answer comes on the same connection
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            assert lines[0] == "HTTP/1.1 304 Not Modified"
            names = {line.partition(":")[0].lower() for line in lines[1:]}
            assert "content-length" not in names
            assert {"etag", "vary", "x-ratelimit-remaining"} <= names
            assert rest == b""


def test_304s_go_on_where_the_budget_would_have_run_out() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, rate_limit=2, rate_window=600)
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH, timeout=10) as c:
        url = server.url("/repos/acme/repo-000/issues")
        tag = c.get(url).headers["etag"]
        answers = [c.get(url, headers={"If-None-Match": tag}) for _ in range(5)]
        assert [a.status_code for a in answers] == [304] * 5
        assert {remaining(a) for a in answers} == {1}
        assert c.get(url).status_code == 200  # the second unit
        # An exhausted budget refuses on admission, before any ETag is known.
        refused = c.get(url, headers={"If-None-Match": tag})
        assert refused.status_code == 403
        stats = server.stats()
    assert stats["not_modified"] == 5
    assert stats["core_spent"] == 2
    assert stats["core_spent_by_account"] == {"fake-user": 2}
    assert stats["rate_limited"] == 1


def test_a_304_is_a_request_in_flight_for_the_secondary_limit() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, max_concurrent=1, latency=0.3)
    with FakeGitHub(settings) as server:
        url = server.url("/repos/acme/repo-000/commits")
        tag = httpx.get(url, headers=AUTH).headers["etag"]

        async def burst() -> list[httpx.Response]:
            conditional = {**AUTH, "If-None-Match": tag}
            async with httpx.AsyncClient(headers=conditional, timeout=10) as c:
                return list(await asyncio.gather(c.get(url), c.get(url)))

        answers = asyncio.run(burst())
        stats = server.stats()
    assert sorted(a.status_code for a in answers) == [304, 403]
    assert stats["secondary_limited"] == 1
    assert stats["not_modified"] == 1


def test_faults_apply_to_a_conditional_request(fake: FakeGitHub, client: httpx.Client) -> None:
    tag = client.get(PULLS).headers["etag"]
    conditional = {"If-None-Match": tag}
    before = fake.stats()
    fake.inject("503", match=PULLS)
    assert client.get(PULLS, headers=conditional).status_code == 503
    assert fake.stats()["core_spent"] == before["core_spent"] + 1  # a failure is spent
    fake.inject("empty", match=PULLS)
    spoiled = client.get(PULLS, headers=conditional)
    assert (spoiled.status_code, spoiled.content) == (200, b"")  # a 304 garbled on the way
    assert client.get(PULLS, headers=conditional).status_code == 304


def test_stats_over_http_count_not_modified_and_core_spent(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    client.post(fake.origin + "/_fake/reset-stats")
    tag = client.get(PULLS).headers["etag"]
    client.get(PULLS, headers={"If-None-Match": tag})
    client.get(PULLS, headers={"If-None-Match": tag, "Authorization": f"Bearer {OTHER}"})
    stats = client.get(fake.origin + "/_fake/stats").json()
    assert stats["requests"] == 3
    assert stats["not_modified"] == 1
    assert stats["core_spent"] == 2
    assert stats["core_spent_by_account"] == {"fake-user": 1, "bob": 1}
