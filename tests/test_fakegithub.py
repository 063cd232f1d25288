"""The fake GitHub, exercised over real HTTP on 127.0.0.1 with httpx."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gh_year_end.testing.fakegithub import (
    DEFAULT_FAULT_KINDS,
    EMPTY_REPO_MESSAGE,
    FAULT_KINDS,
    FORBIDDEN_MESSAGE,
    SECONDARY_MESSAGE,
    DataSpec,
    FakeData,
    FakeGitHub,
    FakeSettings,
    parse_moment,
    settings_from_args,
)
from gh_year_end.testing.fakegithub.cli import parser as cli_parser

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SINCE = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2026, 1, 1, tzinfo=UTC)
RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-used",
    "x-ratelimit-reset",
    "x-ratelimit-resource",
)
# repo-002 404, repo-004 451, repo-006 403, repo-008 empty; 3 fork, 5 archived, 1 and 7 private
MIXED = FakeSettings(
    token=TOKEN,
    repos=10,
    pulls=15,
    issues=15,
    issue_comments=30,
    review_comments=20,
    commits=25,
    not_found=(2,),
    blocked=(4,),
    forbidden=(6,),
    empty=(8,),
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(MIXED) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=10) as c:
        yield c


def fetch_all(c: httpx.Client, url: str, params: dict[str, Any] | None = None) -> list[Any]:
    """Every record of a listing, following Link rel="next"."""
    out: list[Any] = []
    response = c.get(url, params={"per_page": 100, **(params or {})})
    while True:
        assert response.status_code == 200, response.text
        out += response.json()
        nxt = response.links.get("next")
        if nxt is None:
            return out
        response = c.get(nxt["url"])


def ts(text: str) -> datetime:
    return parse_moment(text)


# --- pagination ----------------------------------------------------------------------------


def test_pages_link_in_githubs_form_through_repositories_paths(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    repo_id = client.get("/repos/acme/repo-000").json()["id"]
    base = f"{fake.base_url}/repositories/{repo_id}/pulls?state=all&per_page=7"

    first = client.get("/repos/acme/repo-000/pulls", params={"state": "all", "per_page": 7})
    assert first.headers["link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    second = client.get(first.links["next"]["url"])
    assert second.headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=3>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    third = client.get(second.links["next"]["url"])
    assert third.headers["link"] == f'<{base}&page=2>; rel="prev", <{base}&page=1>; rel="first"'

    pages = [first.json(), second.json(), third.json()]
    assert [len(p) for p in pages] == [7, 7, 1]
    ids = [r["id"] for p in pages for r in p]
    assert len(set(ids)) == 15
    created = [(ts(r["created_at"]), r["id"]) for p in pages for r in p]
    assert created == sorted(created, reverse=True)  # default: newest first, ties by id


def test_single_page_has_no_link_and_per_page_defaults_to_30_capped_at_100(
    client: httpx.Client,
) -> None:
    small = client.get("/repos/acme/repo-000/pulls", params={"state": "all", "per_page": 100})
    assert len(small.json()) == 15
    assert "link" not in small.headers
    assert len(client.get("/repos/acme/repo-000/issues/comments").json()) == 30  # default
    big = client.get("/repos/acme/repo-000/issues", params={"state": "all", "per_page": 500})
    assert len(big.json()) == 30  # 15 issues + 15 PRs, all on one capped page
    assert "link" not in big.headers


def test_org_listing_links_through_organizations_path(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    org_id = client.get("/orgs/acme").json()["id"]
    page = client.get("/orgs/acme/repos", params={"type": "all", "per_page": 4})
    assert page.links["next"]["url"] == (
        f"{fake.base_url}/organizations/{org_id}/repos?type=all&per_page=4&page=2"
    )
    names = [r["full_name"] for r in fetch_all(client, "/orgs/acme/repos", {"per_page": 4})]
    assert sorted(names) == [f"acme/repo-{i:03d}" for i in range(10)]


# --- filters -------------------------------------------------------------------------------


def test_pulls_state_sort_and_direction(client: httpx.Client) -> None:
    everything = fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "all"})
    opened = fetch_all(client, "/repos/acme/repo-000/pulls")  # default state=open
    closed = fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "closed"})
    assert {r["state"] for r in opened} <= {"open"}
    assert {r["state"] for r in closed} <= {"closed"}
    assert len(opened) + len(closed) == len(everything) == 15
    assert opened
    assert closed

    by_updated = fetch_all(
        client, "/repos/acme/repo-000/pulls", {"state": "all", "sort": "updated"}
    )  # direction defaults to asc when sort is not created
    keys = [(ts(r["updated_at"]), r["id"]) for r in by_updated]
    assert keys == sorted(keys)
    desc = fetch_all(
        client,
        "/repos/acme/repo-000/pulls",
        {"state": "all", "sort": "updated", "direction": "desc"},
    )
    assert [r["id"] for r in desc] == [r["id"] for r in reversed(by_updated)]


def test_issues_include_pull_requests_and_since_filters_on_updated_at(
    client: httpx.Client,
) -> None:
    items = fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    pulls = fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "all"})
    marked = [i for i in items if "pull_request" in i]
    assert len(items) == 30
    assert sorted(i["number"] for i in marked) == sorted(p["number"] for p in pulls)
    assert all(i["pull_request"]["url"].endswith(f"/pulls/{i['number']}") for i in marked)
    assert sorted(i["number"] for i in items) == list(range(1, 31))  # shared numbering

    since = "2025-01-01T00:00:00Z"
    recent = fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all", "since": since})
    assert {i["id"] for i in recent} == {i["id"] for i in items if ts(i["updated_at"]) >= SINCE}
    assert any(ts(i["updated_at"]) == SINCE for i in recent)  # the boundary is inclusive
    created = [(ts(i["created_at"]), i["id"]) for i in items]
    assert created == sorted(created, reverse=True)  # default sort created, direction desc


def test_comments_default_to_created_ascending_and_honour_since_and_sort(
    client: httpx.Client,
) -> None:
    for path in ("/repos/acme/repo-000/issues/comments", "/repos/acme/repo-000/pulls/comments"):
        rows = fetch_all(client, path)
        keys = [(ts(r["created_at"]), r["id"]) for r in rows]
        assert keys == sorted(keys)
        newest = fetch_all(client, path, {"sort": "updated", "direction": "desc"})
        upd = [(ts(r["updated_at"]), r["id"]) for r in newest]
        assert upd == sorted(upd, reverse=True)
        since = fetch_all(client, path, {"since": "2025-06-01T00:00:00Z"})
        cut = datetime(2025, 6, 1, tzinfo=UTC)
        assert {r["id"] for r in since} == {r["id"] for r in rows if ts(r["updated_at"]) >= cut}


def test_reviews_are_chronological_per_pull_request(client: httpx.Client) -> None:
    pulls = fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "all"})
    seen = 0
    for pr in pulls:
        reviews = fetch_all(client, f"/repos/acme/repo-000/pulls/{pr['number']}/reviews")
        stamps = [ts(r["submitted_at"]) for r in reviews]
        assert stamps == sorted(stamps)
        assert all(r["pull_request_url"].endswith(f"/pulls/{pr['number']}") for r in reviews)
        seen += len(reviews)
    assert seen > 0
    issues = fetch_all(client, "/repos/acme/repo-000/issues", {"state": "all"})
    plain = next(i for i in issues if "pull_request" not in i)
    assert client.get(f"/repos/acme/repo-000/pulls/{plain['number']}/reviews").status_code == 404


def test_commits_newest_first_with_inclusive_since_and_until(client: httpx.Client) -> None:
    every = fetch_all(client, "/repos/acme/repo-000/commits")
    dates = [ts(c["commit"]["committer"]["date"]) for c in every]
    assert dates == sorted(dates, reverse=True)
    assert len(every) == 25
    window = fetch_all(
        client,
        "/repos/acme/repo-000/commits",
        {"since": "2025-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    )
    got = {ts(c["commit"]["committer"]["date"]) for c in window}
    assert SINCE in got
    assert UNTIL in got  # GitHub's until is inclusive; the window rule is not
    assert {c["sha"] for c in window} == {
        c["sha"] for c in every if SINCE <= ts(c["commit"]["committer"]["date"]) <= UNTIL
    }


def test_invalid_parameters_answer_422(client: httpx.Client) -> None:
    bad_state = client.get("/repos/acme/repo-000/pulls", params={"state": "merged"})
    assert bad_state.status_code == 422
    assert bad_state.json()["message"] == "Validation Failed"
    assert client.get("/repos/acme/repo-000/issues", params={"since": "soon"}).status_code == 422


# --- accounts and discovery ------------------------------------------------------------------


def test_accounts_in_org_mode(client: httpx.Client) -> None:
    assert client.get("/user").json()["login"] == "fake-user"
    org = client.get("/orgs/acme").json()
    assert org["type"] == "Organization"
    assert client.get("/users/acme").json()["type"] == "Organization"
    missing = client.get("/users/nobody-here")
    assert missing.status_code == 404
    assert missing.json()["message"] == "Not Found"
    assert "documentation_url" in missing.json()
    public = fetch_all(client, "/users/acme/repos")
    assert all(not r["private"] for r in public)
    assert {r["name"] for r in public} == {f"repo-{i:03d}" for i in range(10)} - {
        "repo-001",
        "repo-007",
    }
    flags = {r["name"]: r for r in fetch_all(client, "/orgs/acme/repos", {"type": "all"})}
    assert flags["repo-003"]["fork"]
    assert flags["repo-005"]["archived"]
    assert flags["repo-001"]["private"]
    assert isinstance(flags["repo-000"]["id"], int)


def test_accounts_in_user_mode() -> None:
    settings = FakeSettings(token=TOKEN, mode="user", owner="octo", repos=4)
    with FakeGitHub(settings) as server, httpx.Client(base_url=server.base_url, headers=AUTH) as c:
        assert c.get("/user").json()["login"] == "octo"
        assert c.get("/orgs/octo").status_code == 404
        mine = fetch_all(c, "/user/repos", {"affiliation": "owner"})
        assert [r["full_name"] for r in mine] == [f"octo/repo-{i:03d}" for i in range(4)]
        assert any(r["private"] for r in mine)
        public = fetch_all(c, "/users/octo/repos")
        assert all(not r["private"] for r in public)
        assert len(public) == len(mine) - 1  # repo-001 is private


def test_unknown_route_is_404(client: httpx.Client) -> None:
    for path in ("/nope", "/repos/acme/repo-000/wiki", "/repos/acme/missing/pulls", "/orgs/other"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["message"] == "Not Found"


# --- repos that fail -----------------------------------------------------------------------


def test_empty_repo_answers_409_on_commits_and_nothing_elsewhere(client: httpx.Client) -> None:
    commits = client.get("/repos/acme/repo-008/commits")
    assert commits.status_code == 409
    assert commits.json()["message"] == EMPTY_REPO_MESSAGE
    for path in ("pulls", "issues", "issues/comments", "pulls/comments"):
        response = client.get(f"/repos/acme/repo-008/{path}", params={"state": "all"})
        assert response.status_code == 200
        assert response.json() == []


def test_error_repos_answer_404_451_and_403(client: httpx.Client) -> None:
    gone = client.get("/repos/acme/repo-002/pulls")
    assert (gone.status_code, gone.json()["message"]) == (404, "Not Found")
    blocked = client.get("/repos/acme/repo-004/issues")
    assert blocked.status_code == 451
    forbidden = client.get("/repos/acme/repo-006/commits")
    assert (forbidden.status_code, forbidden.json()["message"]) == (403, FORBIDDEN_MESSAGE)
    assert int(forbidden.headers["x-ratelimit-remaining"]) > 0  # not a rate limit
    assert "retry-after" not in forbidden.headers
    assert client.get("/repos/acme/repo-006").status_code == 200  # the repo itself is visible


# --- auth, headers, connections ------------------------------------------------------------


def test_bad_or_missing_token_is_401_and_counted() -> None:
    with (
        FakeGitHub(FakeSettings(token=TOKEN, repos=1)) as server,
        httpx.Client(base_url=server.base_url) as c,
    ):
        assert c.get("/user").status_code == 401
        wrong = c.get("/user", headers={"Authorization": "Bearer nope"})
        assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
        assert c.get("/user", headers={"Authorization": f"token {TOKEN}"}).status_code == 200
        assert c.get("/user", headers=AUTH).status_code == 200
        stats = server.stats()
        assert stats["bad_auth"] == 2
        assert stats["by_status"] == {"401": 2, "200": 2}


def test_every_response_carries_rate_headers_and_a_unique_request_id(
    client: httpx.Client,
) -> None:
    responses = [
        client.get("/user"),
        client.get("/nope"),
        client.get("/repos/acme/repo-006/pulls"),
        client.get("/user", headers={"Authorization": "Bearer nope"}),
    ]
    ids = set()
    for r in responses:
        assert r.headers["content-type"] == "application/json; charset=utf-8"
        assert all(h in r.headers for h in RATE_HEADERS)
        assert r.headers["x-ratelimit-resource"] == "core"
        ids.add(r.headers["x-github-request-id"])
    assert len(ids) == len(responses)


def test_keep_alive_reuses_one_connection() -> None:
    with (
        FakeGitHub(FakeSettings(token=TOKEN, repos=2)) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as c,
    ):
        for _ in range(5):
            assert c.get("/repos/acme/repo-000/pulls").status_code == 200
        stats = server.stats()
        assert stats["connections"] == 1
        assert stats["requests"] == 5
        assert stats["max_inflight"] == 1
        assert [e["no"] for e in server.log()] == [1, 2, 3, 4, 5]


# --- rate limits ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 429])
def test_primary_rate_limit_per_fixed_window(status: int) -> None:
    now = [1_700_000_000.5]
    settings = FakeSettings(
        token=TOKEN, repos=1, rate_limit=3, rate_window=60, rate_limit_status=status
    )
    with (
        FakeGitHub(settings, clock=lambda: now[0]) as server,
        httpx.Client(base_url=server.base_url, headers=AUTH) as c,
    ):
        answers = [c.get("/user") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, status]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert [a.headers["x-ratelimit-used"] for a in answers[:3]] == ["1", "2", "3"]
        reset = math.ceil(now[0] + 60)
        assert {a.headers["x-ratelimit-reset"] for a in answers} == {str(reset)}
        assert answers[3].json()["message"] == "API rate limit exceeded for user ID 1."
        assert c.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0  # free to ask
        now[0] = reset  # the window ends: a fresh budget
        again = c.get("/user")
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining"] == "2"
        assert server.stats()["rate_limited"] == 1


def test_secondary_limit_on_concurrent_requests_with_retry_after() -> None:
    settings = FakeSettings(
        token=TOKEN, repos=1, max_concurrent=2, latency=0.2, secondary_retry_after=7
    )

    async def burst(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(headers=AUTH, timeout=10) as c:
            return await asyncio.gather(*(c.get(url) for _ in range(4)))

    with FakeGitHub(settings) as server:
        answers = asyncio.run(burst(server.url("/user")))
        stats = server.stats()
    limited = [a for a in answers if a.status_code == 403]
    assert sorted(a.status_code for a in answers) == [200, 200, 403, 403]
    assert {a.headers["retry-after"] for a in limited} == {"7"}
    assert {a.json()["message"] for a in limited} == {SECONDARY_MESSAGE}
    assert stats["secondary_limited"] == 2
    assert stats["max_inflight"] == 4


def test_latency_is_added_to_every_response() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, latency=0.1)
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH) as c:
        start = time.perf_counter()
        assert c.get(server.url("/user")).status_code == 200
        assert time.perf_counter() - start >= 0.1
        start = time.perf_counter()
        c.get(server.url("/_fake/stats"))
        assert time.perf_counter() - start < 0.1  # introspection is never delayed


# --- faults --------------------------------------------------------------------------------


def test_each_fault_kind_by_request_number() -> None:
    faults = {1: "500", 2: "502", 3: "503", 4: "reset", 5: "truncate", 6: "badjson", 7: "slow"}
    settings = FakeSettings(token=TOKEN, repos=2, faults=faults, slow_seconds=0.05)
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH, timeout=5) as c:
        url = server.url("/repos/acme/repo-000/issues?state=all")
        for status in (500, 502, 503):
            response = c.get(url)
            assert response.status_code == status
            assert "message" in response.json()
        with pytest.raises(httpx.TransportError):  # connection reset, no response at all
            c.get(url)
        with pytest.raises(httpx.RemoteProtocolError):  # Content-Length promised more
            c.get(url)
        bad = c.get(url)
        assert bad.status_code == 200
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(bad.content)
        start = time.perf_counter()
        assert c.get(url).status_code == 200
        assert time.perf_counter() - start >= 0.05
        assert len(c.get(url).json()) == 30  # request 8: no fault
        stats = server.stats()
    assert stats["faults"] == dict.fromkeys(faults.values(), 1)
    assert stats["requests"] == 8


def test_faults_never_touch_introspection_and_rate_faults_are_seeded() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, fault_rate=0.5, fault_kinds=("500", "503"))

    def statuses() -> list[int]:
        with FakeGitHub(settings) as server, httpx.Client(headers=AUTH) as c:
            out = [c.get(server.url("/user")).status_code for _ in range(20)]
            for _ in range(5):
                assert c.get(server.url("/_fake/stats")).status_code == 200
            return out

    first = statuses()
    assert set(first) == {200, 500, 503}
    assert statuses() == first


def test_injected_faults_match_paths(fake: FakeGitHub, client: httpx.Client) -> None:
    fake.inject("503", match="/commits", times=2)
    assert client.get("/repos/acme/repo-000/pulls").status_code == 200
    assert client.get("/repos/acme/repo-000/commits").status_code == 503
    assert client.get("/repos/acme/repo-001/commits").status_code == 503
    assert client.get("/repos/acme/repo-000/commits").status_code == 200
    client.post(f"{fake.origin}/_fake/inject", params={"kind": "502"})
    assert client.get("/user").status_code == 502
    assert client.get("/user").status_code == 200


# --- answers that misbehave ------------------------------------------------------------------

PAGED = "/repos/acme/repo-000/pulls?state=all&per_page=7"  # 15 pulls: 3 pages, a Link header


def real_and_faulted(
    fake: FakeGitHub, client: httpx.Client, kind: str, target: str
) -> tuple[httpx.Response, httpx.Response]:
    """The same GET answered normally, then with the fault ``kind`` injected."""
    real = client.get(target)
    fake.inject(kind, match=target)
    return real, client.get(target)


def raw_request(port: int, target: str) -> socket.socket:
    """A socket that has sent one authenticated GET (HTTP/1.1, keep-alive) for ``target``."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    sock.sendall(head.encode())
    return sock


def read_head(sock: socket.socket) -> tuple[list[str], bytes]:
    """The status line and header lines, and whatever body bytes came with them."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the connection ended inside the head: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), rest


def header_names(lines: list[str]) -> set[str]:
    return {line.partition(":")[0].lower() for line in lines[1:]}


def test_empty_fault_answers_200_with_no_body_and_every_real_header(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    real, empty = real_and_faulted(fake, client, "empty", PAGED)
    assert empty.status_code == 200
    assert empty.headers["content-length"] == "0"
    assert empty.content == b""
    assert empty.headers["link"] == real.headers["link"]
    assert all(h in empty.headers for h in RATE_HEADERS)
    assert fake.log()[-1]["fault"] == "empty"


def test_null_fault_answers_200_with_the_body_null_and_the_real_link(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    real, null = real_and_faulted(fake, client, "null", PAGED + "&page=2")
    assert null.status_code == 200
    assert null.content == b"null"
    assert null.headers["content-length"] == "4"
    assert null.headers["link"] == real.headers["link"]
    assert all(h in null.headers for h in RATE_HEADERS)


def test_202_fault_answers_accepted_with_no_body_and_no_link(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    _real, accepted = real_and_faulted(fake, client, "202", PAGED + "&x=202")
    assert accepted.status_code == 202
    assert accepted.content == b""
    assert accepted.headers["content-length"] == "0"
    assert "link" not in accepted.headers
    assert all(h in accepted.headers for h in RATE_HEADERS)


def test_204_fault_answers_no_content_and_the_connection_stays_usable(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    _real, nothing = real_and_faulted(fake, client, "204", PAGED + "&x=204")
    assert nothing.status_code == 204
    assert nothing.content == b""
    assert nothing.headers.get("content-length", "0") == "0"
    assert "link" not in nothing.headers
    assert all(h in nothing.headers for h in RATE_HEADERS)
    assert client.get(PAGED).status_code == 200
    log = fake.log()
    assert log[-1]["connection"] == log[-2]["connection"]  # kept alive past the 204


def test_eof_fault_sends_a_close_delimited_head_then_hangs_up(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    target = "/repos/acme/repo-000/issues?per_page=3&x=eof"
    fake.inject("eof", match=target)
    with raw_request(fake.port, target) as sock:
        lines, rest = read_head(sock)
        while chunk := sock.recv(65536):
            rest += chunk
    assert lines[0] == "HTTP/1.1 200 OK"
    assert "content-length" not in header_names(lines)
    assert "transfer-encoding" not in header_names(lines)
    assert "Connection: close" in lines
    assert rest == b""  # the connection ended right after the head
    fake.inject("eof", match=target)
    answer = client.get(target)  # read to the end of the connection: a 200 with nothing
    assert (answer.status_code, answer.content) == (200, b"")
    assert client.get(target).status_code == 200  # the client reconnects


def test_trickle_fault_sends_the_body_a_byte_at_a_time_and_stops_when_the_client_leaves(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = FakeSettings(token=TOKEN, repos=1, trickle_seconds=0.1)
    with FakeGitHub(settings) as server:
        real = httpx.get(server.url("/user"), headers=AUTH).content
        server.inject("trickle")
        with raw_request(server.port, "/user") as sock:
            lines, rest = read_head(sock)
            assert lines[0] == "HTTP/1.1 200 OK"
            assert f"Content-Length: {len(real)}" in lines
            assert rest == b""  # the body does not come with the head
            first = sock.recv(65536)
            start = time.monotonic()
            assert len(first) == 1  # one byte, then a pause
            body = first
            while len(body) < 3:
                body += sock.recv(65536)
            assert time.monotonic() - start >= 0.15  # two more bytes took two pauses
            assert body == real[: len(body)]
        # hung up mid-body: the fake stops writing at once, quietly, and serves on
        deadline = time.monotonic() + 1
        while server.stats()["inflight"] and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.stats()["inflight"] == 0
        assert httpx.get(server.url("/user"), headers=AUTH).content == real
    assert not [r for r in caplog.records if r.name == "asyncio"]


def test_trickle_fault_ends_promptly_when_the_server_stops() -> None:
    server = FakeGitHub(FakeSettings(token=TOKEN, repos=1, trickle_seconds=30)).start()
    try:
        server.inject("trickle")
        with raw_request(server.port, "/user") as sock:
            lines, _ = read_head(sock)
            assert lines[0] == "HTTP/1.1 200 OK"
            start = time.monotonic()
            server.stop()
            assert time.monotonic() - start < 1
    finally:
        server.stop()


def test_cycle_fault_points_next_back_at_page_one(fake: FakeGitHub, client: httpx.Client) -> None:
    repo_id = client.get("/repos/acme/repo-000").json()["id"]
    base = f"{fake.base_url}/repositories/{repo_id}/pulls?state=all&per_page=7"
    real, cycled = real_and_faulted(fake, client, "cycle", PAGED + "&page=2")
    assert cycled.json() == real.json()
    assert cycled.headers["link"] == (
        f'<{base}&page=1>; rel="prev", <{base}&page=1>; rel="next", '
        f'<{base}&page=3>; rel="last", <{base}&page=1>; rel="first"'
    )
    _, last = real_and_faulted(fake, client, "cycle", PAGED + "&page=3")
    assert last.links["next"]["url"] == f"{base}&page=1"  # the last page leads to the first
    _, first = real_and_faulted(fake, client, "cycle", PAGED)
    assert first.links["next"]["url"] == f"{base}&page=1"  # page 1 leads to itself
    one_page = f"{fake.base_url}/repositories/{repo_id}/pulls?state=all&per_page=100&page=1"
    real, single = real_and_faulted(fake, client, "cycle", PAGED.replace("=7", "=100"))
    assert "link" not in real.headers
    assert single.headers["link"] == f'<{one_page}>; rel="next"'
    real, plain = real_and_faulted(fake, client, "cycle", "/repos/acme/repo-000/pulls/1")
    assert plain.status_code == 200
    assert plain.content == real.content
    assert "link" not in plain.headers  # not a list: answered normally


def test_stuck_fault_answers_page_one_whatever_page_and_since_ask(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    listing = "/repos/acme/repo-000/issues?state=all&per_page=5"
    page_one = client.get(listing)
    later = f"{listing}&page=3&since=2025-06-01T00:00:00Z"
    real, stuck = real_and_faulted(fake, client, "stuck", later)
    assert stuck.status_code == 200
    assert stuck.json() == page_one.json()
    assert stuck.json() != real.json()
    assert "prev" not in stuck.links  # the Link of page 1
    assert stuck.links["next"]["url"].endswith("&page=2")
    last_page = page_one.links["last"]["url"].rpartition("&page=")[2]
    assert stuck.links["last"]["url"].endswith(f"&page={last_page}")
    real, plain = real_and_faulted(fake, client, "stuck", "/repos/acme/repo-000/pulls/2")
    assert plain.content == real.content  # not a list: answered normally


@pytest.mark.parametrize("kind", ["null-item", "string-item", "list-id"])
def test_item_faults_spoil_only_the_first_element_of_a_list_page(
    fake: FakeGitHub, client: httpx.Client, kind: str
) -> None:
    real, spoiled = real_and_faulted(
        fake, client, kind, f"/repos/acme/repo-000/issues/comments?per_page=4&x={kind}"
    )
    want = real.json()
    want[0] = {
        "null-item": None,
        "string-item": "not a record",
        "list-id": {**want[0], "id": [1, 2]},
    }[kind]
    assert spoiled.status_code == 200
    assert spoiled.json() == want
    assert int(spoiled.headers["content-length"]) == len(spoiled.content)
    assert spoiled.headers["link"] == real.headers["link"]
    for untouched in (
        "/repos/acme/repo-000/pulls/3",  # not a list
        f"/repos/acme/repo-008/pulls?x={kind}",  # an empty list
    ):
        real, same = real_and_faulted(fake, client, kind, untouched)
        assert same.content == real.content, untouched


def test_hostile_name_fault_renames_the_first_repo_of_repo_listings_only(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    for listing in ("/orgs/acme/repos?per_page=3", "/users/acme/repos?per_page=2"):
        real, hostile = real_and_faulted(fake, client, "hostile-name", listing)
        want = real.json()
        want[0] = {**want[0], "name": "../../escape", "full_name": "acme/../../escape"}
        assert hostile.json() == want
        assert int(hostile.headers["content-length"]) == len(hostile.content)
    real, pulls = real_and_faulted(fake, client, "hostile-name", PAGED + "&x=hostile")
    assert pulls.content == real.content


def test_new_fault_kinds_work_by_request_number_and_over_post_inject() -> None:
    faults = {1: "empty", 2: "null", 3: "202", 4: "204", 5: "null-item"}
    settings = FakeSettings(token=TOKEN, repos=1, faults=faults)
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH, timeout=5) as c:
        url = server.url("/repos/acme/repo-000/issues?state=all")
        answers = [c.get(url) for _ in faults]
        assert [(a.status_code, a.content[:5]) for a in answers] == [
            (200, b""),
            (200, b"null"),
            (202, b""),
            (204, b""),
            (200, b"[null"),
        ]
        assert c.post(server.url("/_fake/inject"), params={"kind": "string-item"}).is_success
        assert c.get(url).json()[0] == "not a record"
        assert server.stats()["faults"] == {**dict.fromkeys(faults.values(), 1), "string-item": 1}


def test_without_rate_headers_no_answer_has_them_but_the_limit_still_holds() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, rate_limit=2, rate_headers=False)
    with FakeGitHub(settings) as server, httpx.Client(base_url=server.base_url) as c:
        answers = [
            c.get("/user", headers=AUTH),
            c.get("/repos/acme/repo-000/pulls", headers=AUTH),
            c.get("/user", headers=AUTH),
            c.get("/rate_limit", headers=AUTH),
            c.get("/user"),
        ]
        assert [a.status_code for a in answers] == [200, 200, 403, 200, 401]
        assert answers[2].json()["message"] == "API rate limit exceeded for user ID 1."
        for answer in answers:
            assert not [h for h in answer.headers if h.startswith("x-ratelimit")]
        assert server.stats()["rate_limited"] == 1


def test_rate_header_and_trickle_flags_reach_the_settings() -> None:
    settings, _ = settings_from_args(
        ["--no-rate-headers", "--trickle-seconds", "0.25", "--faults", "1=eof,2=trickle"]
    )
    assert settings.rate_headers is False
    assert settings.trickle_seconds == 0.25
    assert dict(settings.faults) == {1: "eof", 2: "trickle"}
    default, _ = settings_from_args([])
    assert default.rate_headers is True
    assert default.trickle_seconds == 2.0
    assert default.fault_kinds == DEFAULT_FAULT_KINDS  # the random draw keeps to the old kinds
    with pytest.raises(ValueError, match="trickle_seconds"):
        FakeSettings(trickle_seconds=-1)
    with pytest.raises(ValueError, match="unknown fault kinds"):
        settings_from_args(["--fault-kinds", "empty,bogus"])


def test_help_explains_every_fault_kind() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "gh_year_end.testing.fakegithub", "--help"],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    for kind in FAULT_KINDS:
        assert re.search(rf"^  {re.escape(kind)} +\S", shown, re.MULTILINE), kind
    assert "--no-rate-headers" in shown
    assert "--trickle-seconds" in shown


def test_the_command_line_has_every_setting_with_its_default() -> None:
    # one entry per option, its wrapped lines joined: "--repos N repositories … (default: 12)"
    shown = re.split(r"\n  (?=-)|\n\n", cli_parser().format_help())
    entries = [" ".join(e.split()) for e in shown]
    for f in dataclasses.fields(FakeSettings):
        flag = "--" + f.name.replace("_", "-")
        entry = next((e for e in entries if e.startswith((f"{flag} ", f"{flag},"))), "")
        assert re.search(r"\(default: [^)]+\)$", entry), (flag, entry)
    assert settings_from_args([]) == (FakeSettings(), None)
    settings, port_file = settings_from_args(
        [
            *("--mode", "user", "--forks", "", "--private", "2, 4", "--max-concurrent", "3"),
            *("--start", "2024-06-01", "--boundaries", "2025-03-01T00:00:00Z,2025-09-01"),
            *("--log-size", "5", "--prefix", "/api/v3/", "--rate-headers", "--port-file", "u"),
        ]
    )
    assert (settings.mode, settings.forks, settings.private) == ("user", (), (2, 4))
    assert (settings.max_concurrent, settings.log_size, settings.prefix) == (3, 5, "/api/v3")
    assert settings.start == datetime(2024, 6, 1, tzinfo=UTC)
    assert settings.boundaries == (
        datetime(2025, 3, 1, tzinfo=UTC),
        datetime(2025, 9, 1, tzinfo=UTC),
    )
    assert settings.rate_headers is True
    assert port_file == Path("u")


# --- prefix and links ----------------------------------------------------------------------


def test_path_prefix_like_github_enterprise() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, pulls=40, prefix="/api/v3")
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH) as c:
        assert server.base_url == f"http://127.0.0.1:{server.port}/api/v3"
        assert c.get(server.url("/user")).status_code == 200
        assert c.get(f"{server.origin}/user").status_code == 404
        page = c.get(server.url("/repos/acme/repo-000/pulls"), params={"state": "all"})
        assert page.links["next"]["url"].startswith(f"{server.origin}/api/v3/repositories/")
        assert c.get(page.links["next"]["url"]).status_code == 200
        assert c.get(f"{server.origin}/_fake/stats").status_code == 200
        assert c.get(server.url("/_fake/stats")).status_code == 200


def test_link_base_url_override_for_foreign_links() -> None:
    settings = FakeSettings(token=TOKEN, repos=1, link_base_url="http://elsewhere.test:9")
    with FakeGitHub(settings) as server, httpx.Client(headers=AUTH) as c:
        page = c.get(server.url("/repos/acme/repo-000/issues"), params={"per_page": 2})
        assert page.links["next"]["url"].startswith("http://elsewhere.test:9/repositories/")


# --- introspection and expected ids ---------------------------------------------------------


def in_window(record: dict[str, Any]) -> bool:
    return ts(record["created_at"]) < UNTIL and ts(record["updated_at"]) >= SINCE


def crawl(c: httpx.Client, repo: str) -> dict[str, list[Any]]:
    """Everything of a repo over HTTP, filtered by the window rule."""
    pulls = fetch_all(c, f"/repos/{repo}/pulls", {"state": "all"})
    kept = [p for p in pulls if in_window(p)]
    reviews = [
        r["id"]
        for p in kept
        for r in fetch_all(c, f"/repos/{repo}/pulls/{p['number']}/reviews")
        if SINCE <= ts(r["submitted_at"]) < UNTIL
    ]
    commits = c.get(f"/repos/{repo}/commits", params={"per_page": 100})
    return {
        "pulls": sorted(p["id"] for p in kept),
        "issues": sorted(
            i["id"]
            for i in fetch_all(c, f"/repos/{repo}/issues", {"state": "all"})
            if "pull_request" not in i and in_window(i)
        ),
        "issue_comments": sorted(
            r["id"] for r in fetch_all(c, f"/repos/{repo}/issues/comments") if in_window(r)
        ),
        "review_comments": sorted(
            r["id"] for r in fetch_all(c, f"/repos/{repo}/pulls/comments") if in_window(r)
        ),
        "reviews": sorted(reviews),
        "commits": sorted(
            x["sha"]
            for x in (commits.json() if commits.status_code == 200 else [])
            if SINCE <= ts(x["commit"]["committer"]["date"]) < UNTIL
        ),
    }


def test_expected_matches_a_crawl_filtered_by_the_window_rule(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    expected = fake.expected(SINCE, UNTIL)
    listed = fetch_all(client, "/orgs/acme/repos", {"type": "all"})
    kept = sorted(r["full_name"] for r in listed if not r["fork"] and not r["archived"])
    assert expected["repos"] == kept
    assert expected["unavailable"] == {
        "acme/repo-002": 404,
        "acme/repo-004": 451,
        "acme/repo-006": 403,
    }
    assert expected["empty"] == ["acme/repo-008"]
    totals = dict.fromkeys(expected["units"]["acme/repo-000"], 0)
    for repo in kept:
        want = {k: sorted(v) for k, v in expected["units"][repo].items()}
        if repo in expected["unavailable"]:
            assert client.get(f"/repos/{repo}/pulls").status_code == expected["unavailable"][repo]
            assert all(v == [] for v in want.values())
            continue
        assert want == crawl(client, repo), repo
        for k, v in want.items():
            totals[k] += len(v)
    assert all(n > 0 for n in totals.values()), totals  # every endpoint has window items


def test_window_has_items_on_every_side_of_it(fake: FakeGitHub, client: httpx.Client) -> None:
    pulls = fetch_all(client, "/repos/acme/repo-000/pulls", {"state": "all"})
    pulls += fetch_all(client, "/repos/acme/repo-001/pulls", {"state": "all"})
    created = [ts(p["created_at"]) for p in pulls]
    assert min(created) < SINCE
    assert max(created) >= UNTIL
    assert any(ts(p["created_at"]) < SINCE <= ts(p["updated_at"]) < UNTIL for p in pulls)
    assert any(ts(p["created_at"]) < UNTIL <= ts(p["updated_at"]) for p in pulls)
    assert any(ts(p["created_at"]) == UNTIL for p in pulls)  # pinned: just out
    assert any(ts(p["updated_at"]) == SINCE for p in pulls)  # pinned: just in


def test_expected_over_http_equals_the_method_and_applies_discovery_filters(
    fake: FakeGitHub, client: httpx.Client
) -> None:
    url = f"{fake.origin}/_fake/expected"
    params = {"since": "2025-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert client.get(url, params=params).json() == orjson.loads(
        orjson.dumps(fake.expected(SINCE, UNTIL))
    )
    every = client.get(url, params={**params, "include_forks": 1, "include_archived": 1}).json()
    assert every["repos"] == [f"acme/repo-{i:03d}" for i in range(10)]
    private = client.get(url, params={**params, "visibility": "private"}).json()
    assert private["repos"] == ["acme/repo-001", "acme/repo-007"]
    public = fake.expected(SINCE, UNTIL, visibility="public", include_forks=True)
    assert "acme/repo-003" in public["repos"]
    assert "acme/repo-001" not in public["repos"]
    assert client.get(url).status_code == 400


def test_stats_log_and_reset_over_http() -> None:
    with (
        FakeGitHub(FakeSettings(token=TOKEN, repos=1)) as server,
        httpx.Client(headers=AUTH) as c,
    ):
        c.get(server.url("/user"))
        c.get(server.url("/repos/acme/repo-000/pulls"))
        stats = c.get(server.url("/_fake/stats")).json()
        assert stats["requests"] == 2
        assert stats["by_status"] == {"200": 2}
        assert stats["by_endpoint"] == {"user": 1, "pulls": 1}
        assert set(stats) >= {
            "requests",
            "by_status",
            "max_inflight",
            "rate_limited",
            "secondary_limited",
            "faults",
            "bad_auth",
            "hosts",
        }
        log = c.get(server.url("/_fake/log")).json()
        assert [(e["target"], e["status"]) for e in log] == [
            ("/user", 200),
            ("/repos/acme/repo-000/pulls", 200),
        ]
        assert c.post(server.url("/_fake/reset-stats")).status_code == 200
        assert server.stats()["requests"] == 0


# --- determinism and scale -----------------------------------------------------------------


def test_same_settings_give_the_same_data() -> None:
    def snapshot(settings: FakeSettings) -> tuple[dict[str, Any], str]:
        with FakeGitHub(settings) as server, httpx.Client(headers=AUTH) as c:
            page = c.get(server.url("/repos/acme/repo-001/issues"), params={"state": "all"})
            return server.expected(SINCE, UNTIL), page.text.replace(server.base_url, "BASE")

    settings = FakeSettings(token=TOKEN, repos=3)
    first = snapshot(settings)
    assert snapshot(settings) == first
    other = snapshot(FakeSettings(token=TOKEN, repos=3, seed=2))
    assert other[0]["units"] != first[0]["units"]


def test_records_have_github_shapes_and_sizes(client: httpx.Client) -> None:
    sizes = {}
    for name, path in {
        "pulls": "/repos/acme/repo-000/pulls?state=all",
        "issues": "/repos/acme/repo-000/issues?state=all",
        "issue_comments": "/repos/acme/repo-000/issues/comments",
        "review_comments": "/repos/acme/repo-000/pulls/comments",
        "commits": "/repos/acme/repo-000/commits",
    }.items():
        rows = client.get(path).json()
        sizes[name] = sum(len(orjson.dumps(r)) for r in rows) / len(rows)
        for row in rows:
            assert row["user" if name != "commits" else "author"]["login"]
    assert 4000 < sizes["pulls"] < 8000
    assert 2000 < sizes["issues"] < 4000
    assert 1000 < sizes["issue_comments"] < 2500
    assert 1500 < sizes["commits"] < 4000
    pr = client.get("/repos/acme/repo-000/pulls/1").json()
    assert pr["head"]["repo"]["full_name"] == "acme/repo-000"
    assert re.fullmatch(r"[0-9a-f]{40}", pr["head"]["sha"])


def test_skeletons_stay_small_enough_for_half_a_million_records() -> None:
    spec = DataSpec(
        repos=3, pulls=800, issues=800, issue_comments=1500, review_comments=800, commits=1000
    )
    data = FakeData(spec)
    totals = data.totals()
    items = sum(totals.values())
    stored = 0
    for info in data.repos:
        d = data.repo(info)
        stored += sum(len(v) * v.itemsize for v in vars(d).values() if hasattr(v, "itemsize"))
    assert stored / items < 80  # bytes per item: 500,000 items fit in ~40 MB
    assert (800 + 800 + 1500 + 800 + 1000) * 100 >= 490_000  # the benchmark's 100-repo scale


# --- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_serves_and_exits_0_on_signal(tmp_path: Path, sig: int) -> None:
    port_file = tmp_path / "url"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gh_year_end.testing.fakegithub",
            "--port",
            "0",
            "--repos",
            "2",
            "--prefix",
            "/api/v3",
            "--token",
            TOKEN,
            "--rate-limit",
            "100",
            "--rate-window",
            "10",
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready, "the fake did not print its URL"
        line = proc.stdout.readline()
        # one line: the URL first (what scripts parse), then the token and whose repos
        match = re.fullmatch(
            rf"fake GitHub listening on (http://127\.0\.0\.1:\d+/api/v3) — token {TOKEN}, "
            r"org acme \(2 repos\); Ctrl\+C stops it\n",
            line,
        )
        assert match, line
        base = match.group(1)
        assert port_file.read_text(encoding="utf-8").strip() == base
        assert httpx.get(f"{base}/_fake/stats").json()["requests"] == 0
        user = httpx.get(f"{base}/user", headers=AUTH)
        assert user.headers["x-ratelimit-limit"] == "100"
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout.read() == ""  # exactly one line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
