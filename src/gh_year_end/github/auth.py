"""``github.auth`` → the run's credentials: a :class:`~.credentials.StaticToken` per token
variable and an :class:`~.app_auth.AppInstallation` per App, its private key read from its file or
its environment variable (never kept, never shown)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping

import httpx

from gh_year_end.config import AppAuthConfig, Config
from gh_year_end.errors import ConfigInvalid, TokenMissing
from gh_year_end.github.app_auth import AppInstallation
from gh_year_end.github.app_jwt import load_private_key
from gh_year_end.github.credentials import Credential, token_credentials


def check_credentials(config: Config, environ: Mapping[str, str]) -> None:
    """Before anything is touched: every token variable holds a token and every App key can be
    read and is a key GitHub Apps sign with (TokenMissing / ConfigInvalid naming what to
    set)."""
    token_credentials(config.github.auth.token_env, environ)
    apps = config.github.auth.apps
    for index, app in enumerate(apps):
        pem, source = read_private_key(app, _where(index, len(apps)), environ)
        load_private_key(pem, source, app.app_id)  # a key that cannot sign is found now


def run_credentials(
    config: Config,
    environ: Mapping[str, str],
    *,
    transport: httpx.AsyncBaseTransport,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[Credential]:
    """Every credential ``github.auth`` names: its tokens first, then its Apps."""
    found: list[Credential] = list(token_credentials(config.github.auth.token_env, environ))
    found += app_credentials(config, environ, transport=transport, clock=clock, sleep=sleep)
    return found


def _where(index: int, count: int) -> str:
    return "github.auth.app" if count == 1 else f"github.auth.app[{index}]"


def read_private_key(
    app: AppAuthConfig, where: str, environ: Mapping[str, str]
) -> tuple[bytes, str]:
    """The App's private key (PEM bytes) and how messages name where it came from."""
    if app.private_key_env is not None:
        value = environ.get(app.private_key_env, "")
        if not value.strip():
            raise TokenMissing(
                f"no GitHub App private key in {app.private_key_env} ({where}.private_key_env) "
                f'— export {app.private_key_env}="$(cat app-key.pem)"'
            )
        return value.encode(), f"the variable {app.private_key_env} ({where}.private_key_env)"
    assert app.private_key_file is not None  # the config allows exactly one of the two
    path = app.private_key_file
    try:
        return path.read_bytes(), f"the file {path} ({where}.private_key_file)"
    except OSError as exc:
        raise ConfigInvalid(
            f"{where}.private_key_file: cannot read {path} ({exc.strerror or exc}) — point it "
            "at the .pem file GitHub gave for the App"
        ) from None


def app_credentials(
    config: Config,
    environ: Mapping[str, str],
    *,
    transport: httpx.AsyncBaseTransport,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> list[AppInstallation]:
    """One credential per configured App (ConfigInvalid/TokenMissing for an unusable key)."""
    apps = config.github.auth.apps
    found: list[AppInstallation] = []
    for index, app in enumerate(apps):
        where = _where(index, len(apps))
        key, source = read_private_key(app, where, environ)
        target = config.github.target
        found.append(
            AppInstallation(
                app_id=app.app_id,
                private_key=key,
                key_source=source,
                installation_id=app.installation_id,
                owner=target.name,
                owner_kind=target.mode,
                api_url=config.github.api_url,
                transport=transport,
                clock=clock,
                sleep=sleep,
                retries=config.rate_limit.max_retries,
                backoff_seconds=config.rate_limit.backoff_base_seconds,
                timeout_seconds=config.rate_limit.request_timeout_seconds,
                config_key=where,
            )
        )
    return found
