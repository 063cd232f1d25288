"""A GitHub App installation as a :class:`~.credentials.Credential`: hour-long tokens, renewed.

The App signs a short JSON web token (RS256, ``iat`` 60 s in the past, ``exp`` 9 minutes ahead,
``iss`` the App's ID or client ID) with its private key, finds its installation on the configured
org or user (``GET /orgs/{org}/installation`` or ``GET /users/{username}/installation``) unless
the installation id is configured, and exchanges the JWT for an installation token
(``POST /app/installations/{id}/access_tokens`` → ``{"token", "expires_at"}``, valid one hour).

Requests run as the client's do, and are retried (:mod:`.app_requests`); the JWTs are signed
with the App's key (:mod:`.app_jwt`). A token is renewed before it runs out — ``min(5 min, a
third of its lifetime)`` before ``expires_at`` — by one exchange however many tasks ask at once,
and after a 401 (:meth:`AppInstallation.rejected`). A refusal from GitHub (a JWT it cannot
verify, an App not installed, a suspended installation) is an AuthenticationFailed that says
what to check; it stays: every later call raises it again instead of asking GitHub once more.

Neither the key nor a token nor a JWT is written anywhere, logged, shown in a repr or put in an
error's text; :meth:`AppInstallation.secrets` lists the tokens and JWT signatures issued so far
so that the rest of ghye can scrub them from any text it shows.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

import httpx

from gh_year_end.errors import AuthenticationFailed, ConfigInvalid, TransientError
from gh_year_end.github.app_jwt import JwtSigner
from gh_year_end.github.app_requests import (
    AppRequests,
    AppSetup,
    OwnerKind,
    app_label,
    installation_problem,
    token_problem,
)

logger = logging.getLogger(__name__)

#: A token is renewed this long before it expires, or a third of its lifetime if that is less.
RENEW_BEFORE_SECONDS: Final = 5 * 60.0
#: What an installation token lives when GitHub's answer does not say (GitHub's documented hour).
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
#: A token refused younger than this (or a sixth of its lifetime, if less) is "fresh"; …
FRESH_SECONDS: Final = 60.0
#: … this many fresh tokens refused in a row and the credential is dead.
FRESH_REFUSALS_DEAD: Final = 2

_APP_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True, slots=True, repr=False)
class _Token:
    """One installation token and when (on this machine's clock) to stop using it."""

    value: str
    header: str
    issued: float
    expires: float
    renew_at: float
    fresh_until: float  # refused before this, it never worked: something else is wrong

    def __repr__(self) -> str:
        return "_Token(***)"


class AppInstallation:
    """A GitHub App's installation on one org or user (see the module docstring).

    Safe to share between the asyncio tasks of one event loop.
    """

    def __init__(
        self,
        *,
        app_id: str,
        private_key: bytes,
        key_source: str,
        installation_id: int | None,
        owner: str,
        owner_kind: OwnerKind,
        api_url: str,
        transport: httpx.AsyncBaseTransport,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retries: int = 3,
        backoff_seconds: float = 1.0,
        timeout_seconds: float = 30.0,
        config_key: str = "github.auth.app",
    ) -> None:
        """``app_id``: the App's ID or client ID (the JWT's ``iss``). ``private_key``: its PEM
        bytes, read here once and not kept; ``key_source`` says in messages where it came from
        ("the file in github.auth.app.private_key_file"). ``installation_id``: None to look it
        up on ``owner`` (an org or a user, ``owner_kind``). ``transport``: the client's pooled
        one. ``retries``: further tries of an App request after a 5xx, a rate-limit answer, an
        odd body or a transport failure, ``backoff_seconds`` doubling between them.
        ``config_key``: the App's place in the config, as messages name its settings
        ("github.auth.app[1]" when there are several).

        ConfigInvalid for an app id, installation id or key that cannot be used (the message
        names ``key_source``, never the key), or an API URL that is not http(s).
        """
        app_id = app_id.strip()
        if not _APP_ID_RE.match(app_id):
            raise ConfigInvalid(
                f"{config_key}.app_id must be the GitHub App's ID (e.g. 123456) or client ID "
                "(e.g. Iv23li…), as its settings page shows"
            )
        if installation_id is not None and (
            type(installation_id) is not int or installation_id <= 0
        ):
            raise ConfigInvalid(
                f"{config_key}.installation_id must be a positive whole number (the number "
                "at the end of the installation's settings URL), or left out to look it up"
            )
        if owner_kind not in ("org", "user"):
            raise ValueError(f"owner_kind must be 'org' or 'user', not {owner_kind!r}")
        self._setup = AppSetup(
            app_id=app_id,
            key_source=key_source,
            config_key=config_key,
            owner=owner,
            owner_kind=owner_kind,
            configured_id=installation_id is not None,
        )
        signer = JwtSigner(app_id, private_key, key_source)
        self._installation_id = installation_id
        self._clock = clock
        self._requests = AppRequests(
            setup=self._setup,
            signer=signer,
            api_url=api_url,
            transport=transport,
            clock=clock,
            sleep=sleep,
            retries=retries,
            backoff_seconds=backoff_seconds,
            timeout_seconds=timeout_seconds,
        )
        self._token: _Token | None = None
        self._flight: asyncio.Task[_Token] | None = None
        self._failed: str | None = None  # a refusal's message: every later call raises it
        self._fresh_refusals = 0
        self.exchanges = 0
        """Installation tokens obtained so far."""
        # The key must sign: a key PyJWT refuses is found now, not at the first request.
        self._requests.sign()

    # --- Credential ----------------------------------------------------------------------

    @property
    def label(self) -> str:
        """ "GitHub App 123, installation 456" (before the lookup: "GitHub App 123")."""
        return app_label(self._setup.app_id, self._installation_id)

    def __repr__(self) -> str:
        return f"AppInstallation({self.label})"

    async def authorization(self) -> str:
        """``Bearer <installation token>``, exchanging a new token first when there is none or
        it is due for renewal; one exchange in flight, shared by every caller."""
        token = self._token
        if token is not None and self._clock() < token.renew_at:
            return token.header
        if self._failed is not None:
            raise AuthenticationFailed(self._failed)
        flight = self._flight
        if flight is None:
            flight = asyncio.ensure_future(self._renew())
            flight.add_done_callback(self._landed)
            self._flight = flight
        # shield: a caller cancelled while waiting does not cancel the others' exchange.
        token = await asyncio.shield(flight)
        return token.header

    def rejected(self, authorization: str) -> bool:
        """GitHub answered 401 to a request sent with ``authorization``.

        The current token is forgotten (the next :meth:`authorization` exchanges a new one) and
        True returned — unless it is the second fresh token in a row refused (issued less than
        a minute before, or a sixth of its lifetime for short-lived tokens), which makes the
        credential dead: False, and every later call raises.
        A token already renewed since: True, the new one kept.
        """
        if self._failed is not None:
            return False
        current = self._token
        if current is None or authorization != current.header:
            return True  # an older token (or one already forgotten): renewed or renewing
        self._token = None
        if self._clock() < current.fresh_until:
            self._fresh_refusals += 1
        else:  # a token that served a while (then revoked, expired early): renewing will do
            self._fresh_refusals = 0
        if self._fresh_refusals >= FRESH_REFUSALS_DEAD:
            self._failed = (
                f"GitHub refused {self._fresh_refusals} new installation tokens of {self.label} "
                "in a row (401) — check that the App is still installed and not suspended, and "
                "that this computer's clock is right"
            )
            logger.debug("%s", self._failed)
            return False
        logger.info("%s: GitHub refused its installation token (401); renewing it", self.label)
        return True

    def secrets(self) -> tuple[str, ...]:
        """Every installation token issued so far and every JWT's signature."""
        return self._requests.secrets()

    # --- renewing --------------------------------------------------------------------------

    def _landed(self, flight: asyncio.Task[_Token]) -> None:
        if self._flight is flight:
            self._flight = None
        if flight.cancelled():
            return
        error = flight.exception()  # retrieved even when no caller is left to see it
        if isinstance(error, AuthenticationFailed):
            self._failed = str(error)

    async def _renew(self) -> _Token:
        try:
            return await self._exchange()
        except TransientError:
            # GitHub could not be reached: a token still valid serves a little longer.
            token, now = self._token, self._clock()
            if token is None or now >= token.expires - 1:
                raise
            retry_at = now + min(60.0, (token.expires - now) / 2)
            logger.warning(
                "%s: could not renew its installation token yet; the current one serves until "
                "the next try",
                self.label,
            )
            self._token = replace(token, renew_at=retry_at)
            return self._token

    async def _exchange(self) -> _Token:
        if self._installation_id is None:
            self._installation_id = await self._look_up()
        installation_id = self._installation_id
        body, received = await self._requests.call(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            "an installation token",
            token_problem,
            installation_id,
        )
        value: str = body["token"]
        self._requests.remember(value)
        lifetime = self._lifetime(body.get("expires_at"), received)
        margin = min(RENEW_BEFORE_SECONDS, lifetime / 3)
        token = _Token(
            value=value,
            header=f"Bearer {value}",
            issued=received,
            expires=received + lifetime,
            renew_at=received + lifetime - margin,
            fresh_until=received + min(FRESH_SECONDS, lifetime / 6),
        )
        self._token = token
        self.exchanges += 1
        logger.debug(
            "%s: new installation token, valid %.0f s, renewed after %.0f s",
            self.label,
            lifetime,
            lifetime - margin,
        )
        return token

    async def _look_up(self) -> int:
        setup = self._setup
        path = "orgs" if setup.owner_kind == "org" else "users"
        body, _ = await self._requests.call(
            "GET",
            f"/{path}/{quote(setup.owner, safe='')}/installation",
            "the installation",
            installation_problem,
            self._installation_id,
        )
        installation_id: int = body["id"]
        logger.info(
            "GitHub App %s: installation %d on %s %s",
            setup.app_id,
            installation_id,
            setup.owner_kind,
            setup.owner,
        )
        return installation_id

    def _lifetime(self, expires_at: Any, received: float) -> float:
        """Seconds the token lives from ``received``, by GitHub's clock (skew corrected)."""
        moment = _parse_time(expires_at)
        if moment is None:
            logger.debug("%s: no readable expires_at; taking one hour", self.label)
            return DEFAULT_TOKEN_LIFETIME
        lifetime = moment - (received + self._requests.skew)
        if lifetime <= 0:
            logger.warning(
                "%s: GitHub says the new installation token expired already (this computer's "
                "clock may be wrong); taking one hour",
                self.label,
            )
            return DEFAULT_TOKEN_LIFETIME
        return lifetime


# --- pure helpers ----------------------------------------------------------------------------


def _parse_time(value: Any) -> float | None:
    """Epoch seconds of an ISO 8601 time with a zone ("2016-07-11T22:14:10Z"); else None."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    seconds = moment.timestamp()
    return seconds if math.isfinite(seconds) else None


__all__ = ["AppInstallation", "OwnerKind"]
