"""The fake GitHub's accounts and GitHub App: whose budget a token spends, what GET /user says
for it, how JWTs are verified (GitHub's refusal for each flaw), and installation tokens that
expire and share their installation's budget."""

from __future__ import annotations

import concurrent.futures
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from gh_year_end.testing.fakegithub import (
    FakeGitHub,
    FakeSettings,
    parse_moment,
    settings_from_args,
)
from gh_year_end.testing.fakegithub.accounts import ACCOUNT_ID_BASE

TOKEN = "primary-token"
APP_ID = 4711
INSTALLATION = 99


@pytest.fixture(scope="module")
def key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def sign(key: RSAPrivateKey, **claims: Any) -> str:
    """A JWT with GitHub's recommended claims, ``claims`` changing them (None: left out).
    Signed by hand so that any claim type can be sent (PyJWT's encode insists iss is text)."""
    now = int(time.time())
    body = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID), **claims}
    payload = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
    return jwt.api_jws.PyJWS().encode(payload, key, "RS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Clock:
    """The fake's clock: this machine's, moved on by :meth:`advance`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(key: RSAPrivateKey, clock: Clock) -> Iterator[FakeGitHub]:
    settings = FakeSettings(
        repos=2,
        token=TOKEN,
        tokens={"alice-1": "alice", "alice-2": "Alice", "bob-1": "bob", "me-2": "fake-user"},
        rate_limit=5,
        rate_window=60,
        app_id=APP_ID,
        app_public_key=public_pem(key),
        app_installation_id=INSTALLATION,
        app_token_lifetime=30.0,
    )
    with FakeGitHub(settings, clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, timeout=10) as c:
        yield c


# --- accounts ------------------------------------------------------------------------------


def test_get_user_answers_each_tokens_account(client: httpx.Client) -> None:
    seen = {t: client.get("/user", headers=bearer(t)).json() for t in ("alice-1", "bob-1")}
    assert seen["alice-1"]["login"] == "alice"
    assert seen["alice-1"]["id"] == ACCOUNT_ID_BASE
    assert seen["bob-1"]["id"] == ACCOUNT_ID_BASE + 1
    assert {u["type"] for u in seen.values()} == {"User"}
    assert all(u["node_id"] for u in seen.values())
    primary = client.get("/user", headers=bearer(TOKEN)).json()
    assert (primary["login"], primary["id"]) == ("fake-user", 1)
    assert client.get("/users/bob", headers=bearer(TOKEN)).json()["id"] == ACCOUNT_ID_BASE + 1
    assert client.get("/users/bob/repos", headers=bearer(TOKEN)).json() == []


def test_tokens_of_one_account_share_its_budget_and_others_have_their_own(
    client: httpx.Client, fake: FakeGitHub
) -> None:
    def used(token: str) -> int:
        return int(
            client.get("/repos/acme/repo-000", headers=bearer(token)).headers["x-ratelimit-used"]
        )

    assert [used("alice-1"), used("alice-2"), used("alice-1")] == [1, 2, 3]  # logins: any case
    assert used("bob-1") == 1
    assert [used(TOKEN), used("me-2")] == [1, 2]  # fake-user's second token
    for _ in range(2):
        used("alice-2")
    refused = client.get("/repos/acme/repo-000", headers=bearer("alice-1"))
    assert refused.status_code == 403
    assert refused.json()["message"] == f"API rate limit exceeded for user ID {ACCOUNT_ID_BASE}."
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert used("bob-1") == 2  # bob's budget is untouched by alice's
    assert fake.stats()["rate_limited"] == 1
    assert fake.stats()["by_account"] == {"alice": 6, "bob": 2, "fake-user": 2}


def test_rate_limit_shows_the_callers_budget(client: httpx.Client) -> None:
    client.get("/repos/acme/repo-000", headers=bearer("bob-1"))
    answer = client.get("/rate_limit", headers=bearer("bob-1")).json()
    assert answer["resources"]["core"]["used"] == 1
    assert client.get("/rate_limit", headers=bearer("alice-1")).json()["rate"]["used"] == 0


def test_an_unknown_token_is_bad_credentials_and_spends_nothing(
    client: httpx.Client, fake: FakeGitHub
) -> None:
    answer = client.get("/repos/acme/repo-000", headers=bearer("revoked"))
    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
    }
    assert fake.stats()["by_account"] == {}


def test_the_secondary_limit_counts_each_accounts_requests_in_flight(key: RSAPrivateKey) -> None:
    settings = FakeSettings(
        repos=1, token=TOKEN, tokens={"bob-1": "bob"}, max_concurrent=1, latency=0.3
    )
    with FakeGitHub(settings) as server:

        def get(token: str) -> httpx.Response:
            return httpx.get(server.url("/repos/acme/repo-000"), headers=bearer(token), timeout=10)

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(get, [TOKEN, "bob-1", TOKEN]))
        assert sorted(a.status_code for a in answers) == [200, 200, 403]
        assert server.stats()["secondary_limited"] == 1


# --- the App ---------------------------------------------------------------------------------


def test_the_installation_is_found_on_the_org_and_tokens_are_exchanged(
    client: httpx.Client, fake: FakeGitHub, key: RSAPrivateKey
) -> None:
    found = client.get("/orgs/acme/installation", headers=bearer(sign(key)))
    assert found.status_code == 200
    body = found.json()
    assert (body["id"], body["app_id"], body["target_type"]) == (
        INSTALLATION,
        APP_ID,
        "Organization",
    )
    assert body["account"]["login"] == "acme"
    assert client.get("/users/acme/installation", headers=bearer(sign(key))).status_code == 200
    assert client.get("/orgs/other/installation", headers=bearer(sign(key))).status_code == 404
    made = client.post(
        f"/app/installations/{INSTALLATION}/access_tokens", headers=bearer(sign(key))
    )
    assert made.status_code == 201
    token = made.json()
    assert token["token"].startswith("ghs_")
    assert token["expires_at"].endswith("Z")
    assert token["repository_selection"] == "all"
    assert (
        client.post("/app/installations/1/access_tokens", headers=bearer(sign(key))).status_code
        == 404
    )
    assert fake.installation_tokens() == [token["token"]]
    assert fake.stats()["app_exchanges"] == 1
    # The App's own requests spend the App's budget, not the installation's.
    assert fake.stats()["by_account"] == {f"app {APP_ID}": 5}


def test_installation_tokens_share_a_budget_expire_and_cannot_ask_for_user(
    client: httpx.Client, fake: FakeGitHub, key: RSAPrivateKey, clock: Clock
) -> None:
    path = f"/app/installations/{INSTALLATION}/access_tokens"
    issued = clock()
    made = client.post(path, headers=bearer(sign(key))).json()
    first = made["token"]
    second = client.post(path, headers=bearer(sign(key))).json()["token"]
    used = [
        client.get("/repos/acme/repo-000", headers=bearer(t)).headers["x-ratelimit-used"]
        for t in (first, second)
    ]
    assert used == ["1", "2"]
    me = client.get("/user", headers=bearer(first))
    assert (me.status_code, me.json()["message"]) == (403, "Resource not accessible by integration")
    for _ in range(2):
        client.get("/repos/acme/repo-000", headers=bearer(second))
    limited = client.get("/repos/acme/repo-000", headers=bearer(first))
    assert (
        limited.json()["message"] == f"API rate limit exceeded for installation ID {INSTALLATION}."
    )
    clock.advance(29)  # the tokens live 30 s, to the whole second expires_at names: 29 to 30 s
    expires_at = parse_moment(made["expires_at"]).timestamp()
    assert expires_at - 30 <= issued <= expires_at - 29
    clock.advance(1)
    expired = client.get("/repos/acme/repo-000", headers=bearer(first))
    assert (expired.status_code, expired.json()["message"]) == (401, "Bad credentials")
    assert expired.headers["x-ratelimit-used"] == "5"  # the installation's budget, untouched
    assert fake.stats()["expired_tokens"] == 1


def test_a_jwt_is_no_token_on_data_routes_and_a_token_is_no_jwt_on_app_routes(
    client: httpx.Client, key: RSAPrivateKey
) -> None:
    data = client.get("/repos/acme/repo-000", headers=bearer(sign(key)))
    assert (data.status_code, data.json()["message"]) == (401, "Bad credentials")
    app = client.get("/app", headers=bearer(TOKEN))
    assert (app.status_code, app.json()["message"]) == (
        401,
        "A JSON web token could not be decoded",
    )
    assert client.get("/app", headers=bearer(sign(key))).json()["id"] == APP_ID


IAT = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was "
    "issued"
)
EXP = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
FAR = "'Expiration time' claim ('exp') is too far in the future"


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        (lambda now: {"iss": None}, 401, "Missing 'issuer' claim ('iss') in assertion"),
        (lambda now: {"iss": [APP_ID]}, 401, "'Issuer' claim ('iss') must be an Integer"),
        (lambda now: {"iss": APP_ID + 1}, 404, "Integration not found"),
        (lambda now: {"iss": APP_ID}, 200, None),  # a number, or its text
        (lambda now: {"iat": None}, 401, IAT),
        (lambda now: {"iat": "soon"}, 401, IAT),
        (lambda now: {"iat": now - 60.5}, 401, IAT),  # an Integer
        (lambda now: {"exp": None}, 401, EXP),
        (lambda now: {"exp": now - 10}, 401, EXP),
        (lambda now: {"exp": now + 700}, 401, FAR),
        (lambda now: {"iat": now - 120, "exp": now + 590}, 401, FAR),  # 710 s after iat
        (lambda now: {"iat": now + 120, "exp": now + 500}, 401, IAT),  # issued in the future
        (lambda now: {"iat": now, "exp": now + 600}, 200, None),  # the limit itself
    ],
)
def test_each_flaw_of_a_jwt_gets_githubs_refusal(
    client: httpx.Client,
    key: RSAPrivateKey,
    claims: Callable[[int], dict[str, Any]],
    status: int,
    message: str | None,
) -> None:
    answer = client.get("/app", headers=bearer(sign(key, **claims(int(time.time())))))
    assert answer.status_code == status
    if message is not None:
        assert answer.json() == {
            "message": message,
            "documentation_url": "https://docs.github.com/rest",
            "status": str(status),
        }


def test_a_jwt_signed_by_another_key_could_not_be_decoded(client: httpx.Client) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = client.get("/app", headers=bearer(sign(other)))
    assert (answer.status_code, answer.json()["message"]) == (
        401,
        "A JSON web token could not be decoded",
    )
    hs256 = jwt.encode({"iss": str(APP_ID)}, "a shared secret of thirty-two bytes!", "HS256")
    assert client.get("/app", headers=bearer(hs256)).status_code == 401


def test_an_app_not_installed_has_no_installation_and_no_tokens(key: RSAPrivateKey) -> None:
    settings = FakeSettings(repos=1, app_id=APP_ID, app_public_key=public_pem(key))
    with FakeGitHub(settings) as server, httpx.Client(base_url=server.base_url) as c:
        assert c.get("/orgs/acme/installation", headers=bearer(sign(key))).status_code == 404
        made = c.post(f"/app/installations/{INSTALLATION}/access_tokens", headers=bearer(sign(key)))
        assert made.status_code == 404


def test_without_an_app_every_jwt_names_no_integration(key: RSAPrivateKey) -> None:
    with FakeGitHub(FakeSettings(repos=1)) as server, httpx.Client(base_url=server.base_url) as c:
        answer = c.get("/orgs/acme/installation", headers=bearer(sign(key)))
        assert (answer.status_code, answer.json()["message"]) == (404, "Integration not found")


# --- settings and the command line -------------------------------------------------------------


def test_the_command_line_takes_tokens_and_the_apps_key_file(
    tmp_path: Path, key: RSAPrivateKey
) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text(public_pem(key), encoding="ascii")
    settings, _ = settings_from_args(
        ["--tokens", "a=alice,b=bob", "--app-id", "7", "--app-public-key", str(pem),
         "--app-installation-id", "8", "--app-token-lifetime", "30"]
    )  # fmt: skip
    assert settings.tokens == {"a": "alice", "b": "bob"}
    assert (settings.app_id, settings.app_installation_id) == (7, 8)
    assert settings.app_token_lifetime == 30.0
    assert settings.app_public_key == public_pem(key)


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"tokens": {TOKEN: "bob"}}, "listed again"),
        ({"tokens": {"a b": "bob"}}, "not a token"),
        ({"app_id": 7}, "needs app_public_key"),
        ({"app_installation_id": 8}, "need app_id"),
        ({"app_id": 7, "app_public_key": "-----BEGIN PUBLIC KEY-----\nnope\n"}, "not a PEM"),
    ],
)
def test_settings_that_do_not_hold_together_are_refused(
    changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        FakeSettings(token=TOKEN, **changes)


def test_in_user_mode_another_account_sees_the_owners_public_repos_only() -> None:
    settings = FakeSettings(
        repos=3, mode="user", owner="octo", private=(1,), token=TOKEN, tokens={"bob-1": "bob"}
    )
    with FakeGitHub(settings) as server, httpx.Client(base_url=server.base_url) as c:
        owner, bob = bearer(TOKEN), bearer("bob-1")
        assert c.get("/user", headers=owner).json()["login"] == "octo"
        assert len(c.get("/user/repos", headers=owner).json()) == 3
        assert c.get("/user/repos", headers=bob).json() == []  # bob owns nothing
        assert len(c.get("/users/octo/repos", headers=bob).json()) == 2  # the public ones
        assert c.get("/repos/octo/repo-001/pulls", headers=owner).status_code == 200
        assert c.get("/repos/octo/repo-001/pulls", headers=bob).status_code == 404
        query = {"query": '{ repository(owner: "octo", name: "repo-001") { name } }'}
        seen = c.post("/graphql", json=query, headers=bob).json()
        assert seen["data"]["repository"] is None
        assert seen["errors"][0]["type"] == "NOT_FOUND"
        assert c.post("/graphql", json=query, headers=owner).json()["data"]["repository"] == {
            "name": "repo-001"
        }


def test_an_installation_lists_its_repositories_and_a_user_token_may_not(
    key: RSAPrivateKey,
) -> None:
    settings = FakeSettings(
        repos=3,
        mode="user",
        owner="octo",
        token=TOKEN,
        app_id=APP_ID,
        app_public_key=public_pem(key),
        app_installation_id=INSTALLATION,
    )
    with FakeGitHub(settings) as server, httpx.Client(base_url=server.base_url) as c:
        installation = c.get("/users/octo/installation", headers=bearer(sign(key))).json()
        assert installation["target_type"] == "User"
        made = c.post(installation["access_tokens_url"], headers=bearer(sign(key)))
        token = made.json()["token"]
        listed = c.get("/installation/repositories", params={"per_page": 2}, headers=bearer(token))
        body = listed.json()
        assert (body["total_count"], body["repository_selection"]) == (3, "all")
        assert [r["full_name"] for r in body["repositories"]] == ["octo/repo-000", "octo/repo-001"]
        assert 'rel="next"' in listed.headers["Link"]
        refused = c.get("/installation/repositories", headers=bearer(TOKEN))
        assert refused.status_code == 403
