"""GitHub App installation auth against a fake App API (httpx.MockTransport) that verifies every
JWT with the App's public key and issues installation tokens of a chosen lifetime."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import re
from collections.abc import Coroutine
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, TypeVar

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gh_year_end.errors import EXIT_AUTH, AuthenticationFailed, ConfigInvalid, TransientError
from gh_year_end.github.app_auth import AppInstallation, OwnerKind
from gh_year_end.github.client import API_VERSION, USER_AGENT

API = "https://api.github.com"
APP_ID = "123"
INSTALLATION = 456
NOW = 1_700_000_000.0
KEY_SOURCE = "the file in github.auth.app.private_key_file"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@functools.cache
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_of(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, password: bytes | None = None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeTime:
    """A clock that only moves when told to or when someone sleeps (sleeps are recorded)."""

    def __init__(self, start: float = NOW) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = orjson.dumps(body) if body is not None else b""
    return httpx.Response(
        status, content=content, headers={"content-type": "application/json", **(headers or {})}
    )


class FakeApp:
    """The App endpoints of GitHub's API, checking JWTs as GitHub does.

    ``offset``: GitHub's clock minus the client's; ``send_date`` adds a Date header.
    ``script``: answers (or exceptions) given, in order, before the real behaviour.
    """

    def __init__(
        self,
        time: FakeTime,
        *,
        app_id: str = APP_ID,
        lifetime: float = 3600.0,
        prefix: str = "",
        offset: float = 0.0,
        send_date: bool = False,
        installations: dict[str, int] | None = None,
        yields: int = 3,
    ) -> None:
        self.time = time
        self.public_key = app_key().public_key()
        self.app_id = app_id
        self.lifetime = lifetime
        self.prefix = prefix
        self.offset = offset
        self.send_date = send_date
        self.installations = (
            installations if installations is not None else {"orgs/acme": INSTALLATION}
        )
        self.yields = yields
        self.requests: list[httpx.Request] = []
        self.refused_jwts: list[str] = []
        self.header_problems: list[str] = []
        self.jwts: list[str] = []
        self.tokens: dict[str, float] = {}  # token -> when it expires, GitHub's clock
        self.script: list[httpx.Response | Exception] = []

    def server_now(self) -> float:
        return self.time.now + self.offset

    @property
    def lookups(self) -> int:
        return sum(1 for r in self.requests if r.method == "GET")

    @property
    def exchanges(self) -> int:
        return len(self.tokens)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for _ in range(self.yields):  # in flight for a while: other tasks run meanwhile
            await asyncio.sleep(0)
        if self.script:
            item = self.script.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        response = self.serve(request)
        if self.send_date:
            response.headers["date"] = format_datetime(
                datetime.fromtimestamp(self.server_now(), UTC), usegmt=True
            )
        return response

    def serve(self, request: httpx.Request) -> httpx.Response:
        self.check_headers(request)
        problem = self.check_jwt(request)
        if problem is not None:
            self.refused_jwts.append(problem)
            return answer(401, {"message": problem})
        path = request.url.path
        if not path.startswith(self.prefix):
            return answer(404, {"message": "Not Found"})
        path = path[len(self.prefix) :]
        lookup = re.fullmatch(r"/(orgs|users)/([^/]+)/installation", path)
        if request.method == "GET" and lookup:
            found = self.installations.get(f"{lookup[1]}/{lookup[2]}")
            if found is None:
                return answer(404, {"message": "Not Found"})
            return answer(200, {"id": found, "app_id": 1, "target_type": "Organization"})
        exchange = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if request.method == "POST" and exchange:
            if int(exchange[1]) not in self.installations.values():
                return answer(404, {"message": "Not Found"})
            token = f"ghs_SECRET{len(self.tokens):04d}tokenABCDEFGHIJKLMNOPQRSTUV"
            expires = self.server_now() + self.lifetime
            self.tokens[token] = expires
            return answer(
                201,
                {"token": token, "expires_at": iso(expires), "permissions": {"metadata": "read"}},
            )
        return answer(404, {"message": "Not Found"})

    def check_headers(self, request: httpx.Request) -> None:
        expected = {
            "accept": "application/vnd.github+json",
            "x-github-api-version": API_VERSION,
            "user-agent": USER_AGENT,
        }
        for name, value in expected.items():
            if request.headers.get(name) != value:
                self.header_problems.append(f"{name}: {request.headers.get(name)!r}")

    def check_jwt(self, request: httpx.Request) -> str | None:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return "A JSON web token could not be decoded"
        token = authorization.removeprefix("Bearer ")
        self.jwts.append(token)
        if jwt.get_unverified_header(token).get("alg") != "RS256":
            return "'alg' must be RS256"
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iat", "exp", "iss"],
                },
            )
        except jwt.PyJWTError:
            return "A JSON web token could not be decoded"
        now = self.server_now()
        if claims["iss"] != self.app_id:
            return "Integration not found"
        iat, exp = claims["iat"], claims["exp"]
        if type(iat) is not int or iat > now - 59:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        if type(exp) is not int or exp - now > 600:
            return "'Expiration time' claim ('exp') is too far in the future"
        if exp <= now:
            return "'Expiration time' claim ('exp') must be a numeric value in the future"
        return None


def make(
    app: FakeApp,
    *,
    installation_id: int | None = None,
    owner: str = "acme",
    owner_kind: OwnerKind = "org",
    api_url: str = API,
    app_id: str = APP_ID,
    private_key: bytes | None = None,
    retries: int = 3,
) -> AppInstallation:
    return AppInstallation(
        app_id=app_id,
        private_key=private_key if private_key is not None else pem_of(app_key()),
        key_source=KEY_SOURCE,
        installation_id=installation_id,
        owner=owner,
        owner_kind=owner_kind,
        api_url=api_url,
        transport=app.transport(),
        clock=app.time,
        sleep=app.time.sleep,
        retries=retries,
    )


def chained(error: BaseException) -> bool:
    """Whether a traceback of ``error`` would show another exception (and its text)."""
    return error.__cause__ is not None or (
        error.__context__ is not None and not error.__suppress_context__
    )


def token_of(header: str) -> str:
    assert header.startswith("Bearer ")
    return header.removeprefix("Bearer ")


# --- lookup and exchange --------------------------------------------------------------------------


def test_looks_up_the_org_installation_then_exchanges_its_token() -> None:
    app = FakeApp(FakeTime())
    credential = make(app)
    assert credential.label == "GitHub App 123"

    header = run(credential.authorization())

    assert [(r.method, r.url.path) for r in app.requests] == [
        ("GET", "/orgs/acme/installation"),
        ("POST", f"/app/installations/{INSTALLATION}/access_tokens"),
    ]
    assert token_of(header) in app.tokens
    assert credential.label == f"GitHub App 123, installation {INSTALLATION}"
    assert app.refused_jwts == []
    assert app.header_problems == []


def test_looks_up_a_user_installation_under_users() -> None:
    app = FakeApp(FakeTime(), installations={"users/octo": 789})
    credential = make(app, owner="octo", owner_kind="user")

    run(credential.authorization())

    assert [r.url.path for r in app.requests] == [
        "/users/octo/installation",
        "/app/installations/789/access_tokens",
    ]
    assert credential.label == "GitHub App 123, installation 789"


def test_configured_installation_id_skips_the_lookup() -> None:
    app = FakeApp(FakeTime())
    credential = make(app, installation_id=INSTALLATION)
    assert credential.label == f"GitHub App 123, installation {INSTALLATION}"

    run(credential.authorization())

    assert [(r.method, r.url.path) for r in app.requests] == [
        ("POST", f"/app/installations/{INSTALLATION}/access_tokens")
    ]


def test_jwt_is_rs256_with_backdated_iat_short_exp_and_the_app_id_as_issuer() -> None:
    time = FakeTime()
    app = FakeApp(time, app_id="Iv23liCLIENTid")  # the client ID works as the issuer too
    credential = make(app, app_id="Iv23liCLIENTid")

    run(credential.authorization())

    assert app.refused_jwts == []
    for token in app.jwts:
        assert jwt.get_unverified_header(token)["alg"] == "RS256"
        claims = jwt.decode(
            token,
            app_key().public_key(),
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False},
        )
        assert claims["iss"] == "Iv23liCLIENTid"
        assert claims["iat"] <= time.now - 59
        assert 0 < claims["exp"] - time.now <= 600


def test_a_token_is_reused_until_five_minutes_before_it_expires() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION)

    first = run(credential.authorization())
    time.now += 3600 - 300 - 1
    assert run(credential.authorization()) == first
    time.now += 2
    second = run(credential.authorization())

    assert second != first
    assert app.exchanges == 2


def test_thirty_second_tokens_are_renewed_each_time_and_never_used_expired() -> None:
    time = FakeTime()
    app = FakeApp(time, lifetime=30)
    credential = make(app)
    seen: list[str] = []

    for _ in range(20):
        token = token_of(run(credential.authorization()))
        assert app.tokens[token] - time.now > 5, "a token close to expiry was handed out"
        seen.append(token)
        time.now += 25

    assert len(set(seen)) == 20
    assert app.exchanges == 20
    assert app.lookups == 1


def test_short_lived_tokens_under_random_use_are_always_valid_and_renewed_sparingly() -> None:
    time = FakeTime()
    app = FakeApp(time, lifetime=30)
    credential = make(app, installation_id=INSTALLATION)
    rng = random.Random(7)

    async def use() -> None:
        for _ in range(400):
            token = token_of(await credential.authorization())
            assert app.tokens[token] > time.now
            time.now += rng.uniform(0, 3)

    run(use())

    elapsed = time.now - NOW
    # Renewed a third of the lifetime (10 s) before expiry: one exchange per 20 s or so (at the
    # first use after that, up to 3 s later; expires_at is to the second).
    assert elapsed / 23 <= app.exchanges <= elapsed / 18 + 1


# --- concurrency ----------------------------------------------------------------------------------


def test_a_hundred_concurrent_callers_share_one_exchange() -> None:
    app = FakeApp(FakeTime(), yields=10)
    credential = make(app)

    async def many() -> list[str]:
        return await asyncio.gather(*(credential.authorization() for _ in range(100)))

    headers = run(many())

    assert len(set(headers)) == 1
    assert app.lookups == 1
    assert app.exchanges == 1


def test_concurrent_callers_share_one_renewal_when_the_token_is_due() -> None:
    time = FakeTime()
    app = FakeApp(time, yields=10)
    credential = make(app, installation_id=INSTALLATION)

    async def scenario() -> set[str]:
        first = await credential.authorization()
        time.now += 3600 - 60
        renewed = await asyncio.gather(*(credential.authorization() for _ in range(100)))
        assert first not in renewed
        return set(renewed)

    assert len(run(scenario())) == 1
    assert app.exchanges == 2


def test_concurrent_callers_share_one_refusal() -> None:
    app = FakeApp(FakeTime(), app_id="999", yields=10)  # GitHub knows no App 123
    credential = make(app)

    async def many() -> list[BaseException | str]:
        return await asyncio.gather(
            *(credential.authorization() for _ in range(100)), return_exceptions=True
        )

    results = run(many())

    assert all(isinstance(result, AuthenticationFailed) for result in results)
    assert len(app.requests) == 1


def test_a_cancelled_caller_does_not_cancel_the_exchange_others_wait_for() -> None:
    app = FakeApp(FakeTime(), yields=20)
    credential = make(app)

    async def scenario() -> str:
        impatient = asyncio.ensure_future(credential.authorization())
        patient = asyncio.ensure_future(credential.authorization())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        impatient.cancel()
        header = await patient
        assert impatient.cancelled()
        return header

    assert token_of(run(scenario())) in app.tokens
    assert app.exchanges == 1


# --- 401 on a token -------------------------------------------------------------------------------


def test_rejected_current_token_is_forgotten_and_renewed() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION)

    first = run(credential.authorization())
    time.now += 600
    assert credential.rejected(first) is True
    second = run(credential.authorization())

    assert second != first
    assert app.exchanges == 2


def test_rejected_older_token_keeps_the_renewed_one() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION)

    first = run(credential.authorization())
    time.now += 600
    assert credential.rejected(first) is True
    second = run(credential.authorization())
    # Requests sent with the first token still come back 401 after the renewal.
    assert credential.rejected(first) is True
    assert credential.rejected(first) is True

    assert run(credential.authorization()) == second
    assert app.exchanges == 2


def test_fresh_tokens_refused_twice_in_a_row_make_the_credential_dead() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION)

    first = run(credential.authorization())
    time.now += 2
    assert credential.rejected(first) is True
    second = run(credential.authorization())
    time.now += 2
    assert credential.rejected(second) is False

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())
    assert "GitHub App 123, installation 456" in str(caught.value)
    assert caught.value.exit_code == EXIT_AUTH
    assert credential.rejected(second) is False
    assert app.exchanges == 2


def test_tokens_that_served_a_while_may_be_refused_again_and_again() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION)

    for _ in range(5):
        header = run(credential.authorization())
        time.now += 120  # it worked for two minutes, then GitHub revoked it
        assert credential.rejected(header) is True

    assert app.exchanges == 5


def test_short_lived_tokens_refused_after_serving_a_while_are_not_fresh() -> None:
    time = FakeTime()
    app = FakeApp(time, lifetime=30)
    credential = make(app, installation_id=INSTALLATION)

    for _ in range(5):
        header = run(credential.authorization())
        time.now += 8  # more than a sixth of 30 s
        assert credential.rejected(header) is True


def test_rejected_before_any_token_or_with_a_foreign_header_asks_for_renewal() -> None:
    credential = make(FakeApp(FakeTime()), installation_id=INSTALLATION)
    assert credential.rejected("Bearer something-else") is True


# --- refusals from the App endpoints --------------------------------------------------------------


def test_org_without_the_app_installed_says_to_install_it_or_set_the_id() -> None:
    app = FakeApp(FakeTime(), installations={})
    credential = make(app)

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    message = str(caught.value)
    assert message.startswith("GitHub App 123 is not installed on org acme (404 Not Found)")
    assert "github.auth.app.installation_id" in message
    assert not chained(caught.value)
    # The refusal stays: GitHub is not asked again.
    with pytest.raises(AuthenticationFailed, match="not installed on org acme"):
        run(credential.authorization())
    assert len(app.requests) == 1


def test_messages_name_the_apps_own_config_entry() -> None:
    app = FakeApp(FakeTime(), app_id="999")
    credential = AppInstallation(
        app_id=APP_ID,
        private_key=pem_of(app_key()),
        key_source="the variable APP_KEY (github.auth.app[1].private_key_env)",
        installation_id=INSTALLATION,
        owner="acme",
        owner_kind="org",
        api_url=API,
        transport=app.transport(),
        clock=app.time,
        sleep=app.time.sleep,
        config_key="github.auth.app[1]",
    )

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    assert "check github.auth.app[1].app_id" in str(caught.value)
    assert "(the variable APP_KEY (github.auth.app[1].private_key_env))" in str(caught.value)


def test_unknown_installation_id_names_the_setting() -> None:
    app = FakeApp(FakeTime())
    credential = make(app, installation_id=99)

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    assert str(caught.value).startswith("GitHub App 123 has no installation 99 (404 Not Found)")
    assert "github.auth.app.installation_id" in str(caught.value)


def test_an_installation_gone_after_the_lookup_says_the_app_was_uninstalled() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app)
    run(credential.authorization())
    app.installations.clear()
    time.now += 3600

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    assert str(caught.value).startswith(
        "GitHub App 123's installation 456 on org acme is gone (404 Not Found)"
    )


def test_a_refused_jwt_names_the_app_id_and_the_key_source() -> None:
    app = FakeApp(FakeTime(), app_id="999")
    credential = make(app)

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    message = str(caught.value)
    assert message.startswith("GitHub refused GitHub App 123's JSON web token (401 ")
    assert "github.auth.app.app_id" in message
    assert KEY_SOURCE in message


def test_a_jwt_signed_with_another_key_is_refused_with_advice() -> None:
    app = FakeApp(FakeTime())
    credential = make(app, private_key=pem_of(other_key()))

    with pytest.raises(AuthenticationFailed, match=r"JSON web token \(401 .*private key"):
        run(credential.authorization())


def test_a_suspended_installation_is_a_clear_refusal() -> None:
    app = FakeApp(FakeTime())
    app.script = [answer(403, {"message": "This installation has been suspended"})]
    credential = make(app, installation_id=INSTALLATION)

    with pytest.raises(AuthenticationFailed) as caught:
        run(credential.authorization())

    assert str(caught.value).startswith(
        "GitHub refused an installation token for GitHub App 123, installation 456 "
        "(403 This installation has been suspended)"
    )
    assert len(app.requests) == 1


def test_clock_behind_githubs_is_corrected_from_its_date_header() -> None:
    time = FakeTime()
    app = FakeApp(time, offset=600, send_date=True, lifetime=30)  # our clock 10 min behind
    credential = make(app)

    token = token_of(run(credential.authorization()))

    assert len(app.refused_jwts) == 1  # the first JWT, before the Date header was seen
    assert token in app.tokens
    # The token's 30 s count from GitHub's clock: renewed 20 s later on ours.
    time.now += 19
    assert token_of(run(credential.authorization())) == token
    time.now += 2
    assert token_of(run(credential.authorization())) != token


def test_clock_ahead_of_githubs_is_corrected_too() -> None:
    app = FakeApp(FakeTime(), offset=-600, send_date=True)
    credential = make(app, installation_id=INSTALLATION)

    run(credential.authorization())

    assert len(app.refused_jwts) == 1
    assert app.exchanges == 1


def test_a_refused_jwt_mentions_a_clock_that_is_off() -> None:
    app = FakeApp(FakeTime(), app_id="999", offset=600, send_date=True)
    credential = make(app, installation_id=INSTALLATION)

    with pytest.raises(AuthenticationFailed, match="clock is 600 s behind GitHub's"):
        run(credential.authorization())
    assert len(app.requests) == 2  # one more try with the corrected clock, no more


# --- retries --------------------------------------------------------------------------------------


def test_server_errors_are_retried_with_backoff() -> None:
    time = FakeTime()
    app = FakeApp(time)
    app.script = [answer(502), answer(503)]
    credential = make(app, installation_id=INSTALLATION)

    token = token_of(run(credential.authorization()))

    assert token in app.tokens
    assert time.sleeps == [1.0, 2.0]


def test_transport_errors_are_retried() -> None:
    time = FakeTime()
    app = FakeApp(time)
    app.script = [httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow")]
    credential = make(app)

    run(credential.authorization())

    assert app.exchanges == 1
    assert len(time.sleeps) == 2


def test_rate_limit_answers_wait_for_retry_after() -> None:
    time = FakeTime()
    app = FakeApp(time)
    app.script = [answer(429, {"message": "slow down"}, {"retry-after": "7"})]
    credential = make(app, installation_id=INSTALLATION)

    run(credential.authorization())

    assert time.sleeps == [7.0]


def test_retries_spent_is_a_transient_error_and_the_next_call_tries_again() -> None:
    time = FakeTime()
    app = FakeApp(time)
    app.script = [answer(500)] * 4
    credential = make(app, installation_id=INSTALLATION, retries=3)

    with pytest.raises(TransientError) as caught:
        run(credential.authorization())
    assert "gave up after 4 attempts" in str(caught.value)
    assert "GitHub App 123, installation 456" in str(caught.value)
    assert caught.value.retryable

    assert token_of(run(credential.authorization())) in app.tokens


def test_an_answer_without_a_token_is_retried_as_odd() -> None:
    time = FakeTime()
    app = FakeApp(time)
    app.script = [answer(201, {"expires_at": iso(NOW + 3600)}), answer(201, [])]
    credential = make(app, installation_id=INSTALLATION)

    run(credential.authorization())

    assert len(time.sleeps) == 2
    assert app.exchanges == 1


def test_a_token_still_valid_serves_while_github_cannot_renew_it() -> None:
    time = FakeTime()
    app = FakeApp(time)
    credential = make(app, installation_id=INSTALLATION, retries=1)

    first = run(credential.authorization())
    time.now += 3600 - 200  # due for renewal, 200 s left
    app.script = [answer(502), answer(502)]
    assert run(credential.authorization()) == first
    assert run(credential.authorization()) == first  # no new try right away
    assert len(app.requests) == 3
    time.now += 120
    assert run(credential.authorization()) != first


# --- where requests go ----------------------------------------------------------------------------


def test_requests_go_only_to_the_configured_api_under_its_prefix() -> None:
    app = FakeApp(FakeTime(), prefix="/api/v3")
    credential = make(app, api_url="https://ghe.example.com/api/v3/")

    run(credential.authorization())

    assert [str(r.url) for r in app.requests] == [
        "https://ghe.example.com/api/v3/orgs/acme/installation",
        f"https://ghe.example.com/api/v3/app/installations/{INSTALLATION}/access_tokens",
    ]


def test_a_redirect_from_an_app_endpoint_is_not_followed() -> None:
    app = FakeApp(FakeTime())
    app.script = [answer(302, None, {"location": "https://evil.example/steal"})]
    credential = make(app)

    with pytest.raises(AuthenticationFailed, match=r"302 Found .* not followed"):
        run(credential.authorization())

    assert [r.url.host for r in app.requests] == ["api.github.com"]


def test_an_api_url_that_is_not_http_is_a_config_error() -> None:
    with pytest.raises(ConfigInvalid, match=r"github\.api_url"):
        make(FakeApp(FakeTime()), api_url="ftp://example.com")


# --- bad configuration ----------------------------------------------------------------------------


def _bad_keys() -> list[tuple[str, bytes]]:
    rsa_pem = pem_of(app_key())
    return [
        ("empty", b""),
        ("not PEM", b"this is not a key at all"),
        ("truncated", rsa_pem[: len(rsa_pem) // 2]),
        (
            "public key",
            app_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        ),
        ("EC key", pem_of(ec.generate_private_key(ec.SECP256R1()))),
        ("password-protected", pem_of(app_key(), password=b"hunter2")),
        ("short RSA", pem_of(rsa.generate_private_key(public_exponent=65537, key_size=1024))),
    ]


@pytest.mark.parametrize(("what", "pem"), _bad_keys(), ids=[name for name, _ in _bad_keys()])
def test_a_bad_private_key_is_one_clear_error_without_the_key(what: str, pem: bytes) -> None:
    app = FakeApp(FakeTime())

    with pytest.raises(ConfigInvalid) as caught:
        make(app, private_key=pem)

    message = str(caught.value)
    assert message.startswith(KEY_SOURCE), what
    assert "settings page" in message
    assert not chained(caught.value)
    for line in pem.decode("ascii", "replace").splitlines():
        if len(line) >= 16 and not line.startswith("-----"):
            assert line not in message
    assert app.requests == []


def test_an_app_id_that_cannot_be_one_is_a_config_error() -> None:
    with pytest.raises(ConfigInvalid, match=r"github\.auth\.app\.app_id"):
        make(FakeApp(FakeTime()), app_id="12 3")


@pytest.mark.parametrize("installation_id", [0, -4, True])
def test_an_installation_id_that_cannot_be_one_is_a_config_error(installation_id: int) -> None:
    with pytest.raises(ConfigInvalid, match=r"github\.auth\.app\.installation_id"):
        make(FakeApp(FakeTime()), installation_id=installation_id)


# --- secrets --------------------------------------------------------------------------------------


def test_no_secret_in_reprs_errors_or_log_records(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    time = FakeTime()
    app = FakeApp(time, lifetime=30)
    credential = make(app)
    texts: list[str] = []

    async def scenario() -> None:
        for _ in range(3):
            header = await credential.authorization()
            texts.extend([repr(credential), str(credential), credential.label])
            time.now += 25
        assert credential.rejected(header)
        # A hostile or careless server echoes the JWT and the token in its answers.
        echo = f"bad {app.jwts[-1]} and {token_of(header)}"
        app.script = [answer(500, {"message": echo}), answer(403, {"message": echo})]
        try:
            await credential.authorization()
        except AuthenticationFailed as exc:
            texts.append(str(exc))
        else:
            raise AssertionError("the 403 was not raised")

    run(scenario())

    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(str(record.args) for record in caplog.records)
    assert any("403" in text for text in texts)
    secrets = set(credential.secrets())
    assert set(app.tokens) <= secrets
    assert {token.rpartition(".")[2] for token in app.jwts} <= secrets
    pem_lines = [line for line in pem_of(app_key()).decode().splitlines() if "-----" not in line]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        for line in pem_lines:
            assert line not in text


def test_repr_is_the_label_only() -> None:
    app = FakeApp(FakeTime())
    credential = make(app, installation_id=INSTALLATION)
    run(credential.authorization())
    assert repr(credential) == "AppInstallation(GitHub App 123, installation 456)"
