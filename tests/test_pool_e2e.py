"""Several credentials end to end: ghye's credential pool and its GitHub App authentication
against the fake GitHub's accounts (tokens of several users, each user with its own budget) and
its GitHub App (JWT-verified exchanges, installation tokens that expire).

Each case runs a whole collection — in process with ``run_collect``, or through the real
command line — and checks the outcome, what the fake saw and the dataset.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from clirun import assert_refused, cli
from gh_year_end.collect.events import NullEvents
from gh_year_end.collect.run import CollectRequest, run_collect
from gh_year_end.config import load_config
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    UNTIL,
    checkpoint_problems,
    compare_with_expected,
    read_dataset,
    target_dir,
    write_config,
)

# 15 repos, 11 kept (a fork and an archived one left out): about 55 REST requests in all.
DATA: Mapping[str, Any] = {
    "repos": 15,
    "pulls": 12,
    "issues": 10,
    "issue_comments": 14,
    "review_comments": 10,
    "commits": 15,
}
TOKENS = {"T_ALICE": "alice-token-0001", "T_BOB": "bob-token-0002", "T_CAROL": "carol-token-03"}
ACCOUNTS = {"alice-token-0001": "alice", "bob-token-0002": "bob", "carol-token-03": "carol"}
APP_ID = 31337
INSTALLATION_ID = 4242
KEY_ENV = "GHYE_TEST_APP_KEY"


class Messages(NullEvents):
    """An event sink that keeps the one-line messages (warnings among them)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def message(self, text: str) -> None:
        """Keep it."""
        self.lines.append(text)


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    """A GitHub App's key pair: (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _accounts_fake(tokens: Mapping[str, str], rate_limit: int = 1000) -> FakeGitHub:
    settings = FakeSettings(
        **DATA, token="unused-primary-token", tokens=tokens, rate_limit=rate_limit, rate_window=1.0
    )
    return FakeGitHub(settings)


@pytest.fixture
def three_accounts() -> Iterator[FakeGitHub]:
    with _accounts_fake(ACCOUNTS) as server:
        yield server


def _collect(
    tmp_path: Path, fake: FakeGitHub, auth: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[Any, Messages]:
    config = load_config(write_config(tmp_path, fake.base_url, auth=auth))
    events = Messages()
    result = run_collect(
        config,
        CollectRequest(),
        environ=environ,
        events=events,
        command="test",
        install_signals=False,
    )
    problems = compare_with_expected(
        read_dataset(PathManager(config).target_dir), fake.expected(SINCE, UNTIL)
    )
    assert problems == []
    return result, events


def _data_requests(fake: FakeGitHub) -> Counter[str]:
    """Answered requests per credential, GET /user (the account check) left out."""
    return Counter(
        str(e["credential"])
        for e in fake.log()
        if e["endpoint"] != "user"
        and e["status"] is not None
        and e["account"] is not None
        and e["credential"] != "jwt"  # the App's own requests (installation, exchanges)
    )


# --- tokens of several accounts ----------------------------------------------------------


def test_three_accounts_share_the_work_and_no_rate_limit_is_ever_met(tmp_path: Path) -> None:
    # Each account: 10 requests per window (1 to 2 s: resets fall on whole seconds). One token
    # would need 6 windows; three need 2.
    with _accounts_fake(ACCOUNTS, rate_limit=10) as fake:
        result, events = _collect(tmp_path, fake, {"token_env": list(TOKENS)}, TOKENS)
        assert result.outcome == "complete"
        assert not [line for line in events.lines if line.startswith("warning")]
        stats = fake.stats()
        assert stats["rate_limited"] == 0
        assert stats["bad_auth"] == 0
        assert set(stats["by_account"]) == {"alice", "bob", "carol"}
        used = _data_requests(fake)
        assert set(used) == {"tokens[0]", "tokens[1]", "tokens[2]"}
        # One account's window holds 10: the work went down every lane, past a window.
        assert sum(used.values()) > 3 * 10


def test_two_tokens_of_one_account_are_reported_and_one_of_them_is_used(
    tmp_path: Path,
) -> None:
    environ = {"T_ALICE": "alice-token-0001", "T_ALICE2": "alice-token-0002"}
    with _accounts_fake({**ACCOUNTS, "alice-token-0002": "alice"}) as fake:
        result, events = _collect(tmp_path, fake, {"token_env": list(environ)}, environ)
        assert result.outcome == "complete"
        warnings = [line for line in events.lines if line.startswith("warning:")]
        assert len(warnings) == 1, events.lines
        assert re.match(
            r"warning: T_ALICE2? and T_ALICE2? belong to the same account "
            r"\(user alice \(id \d+\)\): they share one rate-limit budget",
            warnings[0],
        ), warnings[0]
        assert len(_data_requests(fake)) == 1
        assert fake.stats()["rate_limited"] == 0


def test_a_revoked_token_is_dropped_with_a_warning_and_the_others_finish(
    tmp_path: Path, three_accounts: FakeGitHub
) -> None:
    environ = {**TOKENS, "T_REVOKED": "revoked-token-99"}
    result, events = _collect(
        tmp_path, three_accounts, {"token_env": ["T_ALICE", "T_REVOKED", "T_BOB"]}, environ
    )
    assert result.outcome == "complete"
    warnings = [line for line in events.lines if line.startswith("warning:")]
    assert warnings == [
        "warning: GitHub rejected the token (401 Bad credentials) — check T_REVOKED: it may be "
        "wrong, expired or revoked — continuing with T_ALICE, T_BOB"
    ]
    assert three_accounts.stats()["bad_auth"] == 1  # refused once, never sent again
    assert set(_data_requests(three_accounts)) == {"tokens[0]", "tokens[1]"}


REFUSED = re.compile(
    r"error: GitHub rejected the token \(401 Bad credentials\) — check T_OLDER?: it may be "
    r"wrong, expired or revoked"
)


def _every_token_refused(tmp_path: Path, fake: FakeGitHub) -> Any:
    environ = {"T_OLD": "revoked-token-01", "T_OLDER": "revoked-token-02"}
    config = write_config(tmp_path, fake.base_url, auth={"token_env": list(environ)})
    return cli(["collect", "--config", str(config)], cwd=tmp_path, environ=environ)


def test_when_every_token_is_refused_the_run_ends_with_exit_5_and_the_last_refusal(
    tmp_path: Path, three_accounts: FakeGitHub
) -> None:
    ran = _every_token_refused(tmp_path, three_accounts)
    assert ran.code == 5, ran
    assert "Traceback" not in ran.stdout + ran.stderr
    errors = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert REFUSED.fullmatch(errors[0]), errors
    assert ran.stderr.splitlines()[-1] == errors[0]
    assert three_accounts.stats()["by_account"] == {}
    assert three_accounts.stats()["bad_auth"] == 2


def test_when_every_token_is_refused_stderr_holds_one_line(
    tmp_path: Path, three_accounts: FakeGitHub
) -> None:
    assert_refused(_every_token_refused(tmp_path, three_accounts), 5, REFUSED)


# --- a GitHub App ------------------------------------------------------------------------


def _app_fake(public: str, *, clock_ahead: float = 0.0, **settings: Any) -> FakeGitHub:
    """A fake with the App installed on the org (``settings`` change that); ``clock_ahead``:
    the fake's clock runs that far ahead of this machine's."""
    base: dict[str, Any] = {
        **DATA,
        "token": "unused-primary-token",
        "app_id": APP_ID,
        "app_public_key": public,
        "app_installation_id": INSTALLATION_ID,
    }
    return FakeGitHub(FakeSettings(**{**base, **settings}), clock=lambda: time.time() + clock_ahead)


def test_an_app_whose_tokens_expire_every_2_s_renews_throughout_and_leaks_nothing(
    tmp_path: Path, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    # Two requests in flight, 0.1 s each: the run lasts several token lifetimes.
    with _app_fake(public, app_token_lifetime=2.0, latency=0.1) as fake:
        auth = {"app": {"app_id": APP_ID, "private_key_env": KEY_ENV}}
        config = write_config(tmp_path, fake.base_url, auth=auth, max_concurrency=2)
        ran = cli(
            ["collect", "--config", str(config), "--verbose"],
            cwd=tmp_path,
            environ={KEY_ENV: private},
        )
        assert ran.code == 0, ran
        folder = target_dir(tmp_path / "data")
        assert compare_with_expected(read_dataset(folder), fake.expected(SINCE, UNTIL)) == []
        assert checkpoint_problems(folder, final=True) == []
        stats = fake.stats()
        assert stats["app_exchanges"] >= 3, stats  # renewed throughout the run
        assert stats["by_account"].keys() == {f"app {APP_ID}", f"installation {INSTALLATION_ID}"}
        assert stats["rate_limited"] == 0
        # A token is renewed a third of its life before it runs out: none is refused for being
        # expired (unless the machine stalls that long between ghye's send and the fake's read;
        # the test below covers such refusals).
        assert stats["expired_tokens"] <= 1, stats
        assert stats["bad_auth"] == 0
        lookups = [e for e in fake.log() if e["target"] == "/orgs/acme/installation"]
        assert len(lookups) == 1  # no installation_id configured: looked up once, on the org
        assert "new installation token" in ran.stderr  # --verbose: the debug lines were seen
        secrets = [*fake.installation_tokens(), *_key_lines(private)]
        assert len(secrets) > 3
        _assert_nowhere(secrets, [ran.stdout, ran.stderr], tmp_path, skip=config)


def test_an_installation_token_refused_as_expired_is_renewed_and_its_page_fetched_again(
    tmp_path: Path, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    # GitHub's clock 1 s ahead of this machine's (far below what ghye corrects): a token of
    # 2 s lives 1 to 2 s by ghye's clock, and some are refused as expired before ghye renews
    # them — each time ghye must renew and send the same page again.
    with _app_fake(public, app_token_lifetime=2.0, latency=0.1, clock_ahead=1.0) as fake:
        auth = {"app": {"app_id": APP_ID, "private_key_env": KEY_ENV}}
        config = write_config(tmp_path, fake.base_url, auth=auth, max_concurrency=2)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path, environ={KEY_ENV: private})
        assert ran.code == 0, ran
        folder = target_dir(tmp_path / "data")
        assert compare_with_expected(read_dataset(folder), fake.expected(SINCE, UNTIL)) == []
        assert checkpoint_problems(folder, final=True) == []
        stats = fake.stats()
        assert stats["expired_tokens"] > 0, stats
        assert stats["app_exchanges"] > 1


def test_an_app_not_installed_on_the_org_ends_with_one_line_saying_what_to_do(
    tmp_path: Path, app_key: tuple[str, str]
) -> None:
    private, public = app_key
    with _app_fake(public, app_installation_id=None) as fake:
        auth = {"app": {"app_id": APP_ID, "private_key_env": KEY_ENV}}
        config = write_config(tmp_path, fake.base_url, auth=auth)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path, environ={KEY_ENV: private})
        assert_refused(
            ran,
            5,
            f"error: GitHub App {APP_ID} is not installed on org acme (404 Not Found) — install "
            "it there, or set github.auth.app.installation_id",
        )
        assert fake.stats()["app_exchanges"] == 0


def test_an_app_key_that_is_not_the_apps_is_refused_with_one_line(
    tmp_path: Path, app_key: tuple[str, str]
) -> None:
    _, public = app_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with _app_fake(public) as fake:
        auth = {"app": {"app_id": APP_ID, "private_key_env": KEY_ENV}}
        config = write_config(tmp_path, fake.base_url, auth=auth)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path, environ={KEY_ENV: wrong})
        assert_refused(
            ran,
            5,
            f"error: GitHub refused GitHub App {APP_ID}'s JSON web token (401 A JSON web token "
            "could not be decoded) — check github.auth.app.app_id and that the private key (the "
            f"variable {KEY_ENV} (github.auth.app.private_key_env)) is this App's",
        )


def test_an_app_and_a_token_share_the_work(tmp_path: Path, app_key: tuple[str, str]) -> None:
    private, public = app_key
    with _app_fake(
        public, tokens={"alice-token-0001": "alice"}, rate_limit=20, rate_window=1.0
    ) as fake:
        auth = {
            "token_env": "T_ALICE",
            "app": {"app_id": APP_ID, "private_key_env": KEY_ENV, "installation_id": 4242},
        }
        environ = {"T_ALICE": "alice-token-0001", KEY_ENV: private}
        result, events = _collect(tmp_path, fake, auth, environ)
        assert result.outcome == "complete"
        assert not [line for line in events.lines if line.startswith("warning")]
        assert set(_data_requests(fake)) == {"tokens[0]", "installation token"}
        stats = fake.stats()
        assert stats["rate_limited"] == 0
        assert [e for e in fake.log() if e["target"].endswith("/installation")] == []


# --- helpers ------------------------------------------------------------------------------


def _key_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM (any one of them in a text means the key leaked)."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


def _assert_nowhere(
    secrets: list[str], texts: list[str], folder: Path, *, skip: Path | None = None
) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text
    for path in folder.rglob("*"):
        if path.is_file() and path != skip:
            raw = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in raw, f"{path} holds a secret"


# --- a user's own repositories ---------------------------------------------------------------


def test_a_users_own_token_is_the_one_used_for_their_private_repositories(
    tmp_path: Path,
) -> None:
    # The fake's owner "octo" in user mode: bob's token sees only octo's public repositories.
    tokens = {"octo-token-0001": "octo", "bob-token-0002": "bob"}
    settings = FakeSettings(
        **DATA, mode="user", owner="octo", token="unused-primary-token", tokens=tokens
    )
    with FakeGitHub(settings).start() as fake:
        config = load_config(
            write_config(
                tmp_path,
                fake.base_url,
                owner="octo",
                mode="user",
                auth={"token_env": ["T_BOB", "T_OCTO"]},
            )
        )
        events = Messages()
        result = run_collect(
            config,
            CollectRequest(),
            environ={"T_BOB": "bob-token-0002", "T_OCTO": "octo-token-0001"},
            events=events,
            command="test",
            install_signals=False,
        )
        expected = fake.expected(SINCE, UNTIL, visibility="all")
        assert result.exit_code == 0, result
        dataset = read_dataset(PathManager(config).target_dir)
        assert compare_with_expected(dataset, expected) == []
    assert any(
        "T_BOB is not octo's own credential: it cannot see octo's private repositories" in line
        for line in events.lines
    ), events.lines
