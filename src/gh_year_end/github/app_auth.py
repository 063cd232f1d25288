"""A GitHub App installation as a :class:`~.credentials.Credential`: hour-long tokens, renewed.

The App signs a short JSON web token (RS256, ``iat`` 60 s in the past, ``exp`` 9 minutes ahead,
``iss`` the App's ID or client ID) with its private key, finds its installation on the configured
org or user (``GET /orgs/{org}/installation`` or ``GET /users/{username}/installation``) unless
the installation id is configured, and exchanges the JWT for an installation token
(``POST /app/installations/{id}/access_tokens`` → ``{"token", "expires_at"}``, valid one hour).

Requests run as the client's do: through its pooled transport, only to the configured API's
origin (:class:`~.origin.ApiOrigin`), with its Accept, API-version and User-Agent headers; 5xx,
rate-limit answers, odd bodies and transport failures are retried a few times, then
TransientError. A token is renewed before it runs out — ``min(5 min, a third of its lifetime)``
before ``expires_at`` — by one exchange however many tasks ask at once, and after a 401
(:meth:`AppInstallation.rejected`). A refusal from GitHub (a JWT it cannot verify, an App not
installed, a suspended installation) is an AuthenticationFailed that says what to check; it
stays: every later call raises it again instead of asking GitHub once more.

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
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal
from urllib.parse import quote

import httpx
import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from gh_year_end.errors import AuthenticationFailed, ConfigInvalid, TransientError
from gh_year_end.github.answers import describe_failure, github_message, pick_headers, read_body

# The module, not its names: client.py may import this module in turn.
from gh_year_end.github.credentials import scrub
from gh_year_end.github.exchange import BASE_HEADERS, TRANSIENT_HTTPX
from gh_year_end.github.origin import ApiOrigin
from gh_year_end.github.ratelimit import classify_limit, parse_rate_headers, parse_retry_after
from gh_year_end.github.tokens import TOKEN_RE
from gh_year_end.github.transport import fetch

logger = logging.getLogger(__name__)

OwnerKind = Literal["org", "user"]

#: The JWT's ``iat`` is this far in the past (GitHub's advice against clock drift) …
JWT_BACKDATE_SECONDS: Final = 60
#: … and its ``exp`` this far ahead (GitHub allows at most 10 minutes).
JWT_LIFETIME_SECONDS: Final = 9 * 60
#: A token is renewed this long before it expires, or a third of its lifetime if that is less.
RENEW_BEFORE_SECONDS: Final = 5 * 60.0
#: What an installation token lives when GitHub's answer does not say (GitHub's documented hour).
DEFAULT_TOKEN_LIFETIME: Final = 3600.0
#: A token refused younger than this (or a sixth of its lifetime, if less) is "fresh"; …
FRESH_SECONDS: Final = 60.0
#: … this many fresh tokens refused in a row and the credential is dead.
FRESH_REFUSALS_DEAD: Final = 2
#: A clock this far off GitHub's (its Date header) is corrected in JWTs and token lifetimes.
SKEW_TOLERANCE_SECONDS: Final = 30.0
#: The shortest RSA key accepted (GitHub generates 2048-bit keys; PyJWT warns below).
MIN_KEY_BITS: Final = 2048
#: Longest wait between two tries of an App endpoint.
MAX_BACKOFF_SECONDS: Final = 60.0

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


@dataclass(slots=True)
class _Tries:
    failures: int = 0
    skew_retried: bool = False


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
        self._app_id = app_id
        self._key = load_private_key(private_key, key_source, app_id)
        self._key_source = key_source
        self._config_key = config_key
        self._installation_id = installation_id
        self._configured_id = installation_id is not None
        self._owner = owner
        self._owner_kind: OwnerKind = owner_kind
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._retries = max(0, retries)
        self._backoff = max(0.0, backoff_seconds)
        self._timeout = timeout_seconds
        self._issued: list[str] = []  # every token and JWT signature, for secrets()
        self._origin = ApiOrigin(api_url, scrub=self._scrub)
        self._headers = BASE_HEADERS  # the client's, but for Authorization
        self._token: _Token | None = None
        self._flight: asyncio.Task[_Token] | None = None
        self._failed: str | None = None  # a refusal's message: every later call raises it
        self._fresh_refusals = 0
        self._skew = 0.0  # GitHub's clock minus ours, when it is off by more than the tolerance
        self.exchanges = 0
        """Installation tokens obtained so far."""
        # The key must sign: a key PyJWT refuses is found now, not at the first request.
        self._sign()

    # --- Credential ----------------------------------------------------------------------

    @property
    def label(self) -> str:
        """ "GitHub App 123, installation 456" (before the lookup: "GitHub App 123")."""
        if self._installation_id is None:
            return f"GitHub App {self._app_id}"
        return f"GitHub App {self._app_id}, installation {self._installation_id}"

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
        return tuple(self._issued)

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
        body, received = await self._call(
            "POST",
            f"/app/installations/{installation_id}/access_tokens",
            "an installation token",
            _token_problem,
        )
        value: str = body["token"]
        self._issued.append(value)
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
        path = "orgs" if self._owner_kind == "org" else "users"
        body, _ = await self._call(
            "GET",
            f"/{path}/{quote(self._owner, safe='')}/installation",
            "the installation",
            _installation_problem,
        )
        installation_id: int = body["id"]
        logger.info(
            "GitHub App %s: installation %d on %s %s",
            self._app_id,
            installation_id,
            self._owner_kind,
            self._owner,
        )
        return installation_id

    def _lifetime(self, expires_at: Any, received: float) -> float:
        """Seconds the token lives from ``received``, by GitHub's clock (skew corrected)."""
        moment = _parse_time(expires_at)
        if moment is None:
            logger.debug("%s: no readable expires_at; taking one hour", self.label)
            return DEFAULT_TOKEN_LIFETIME
        lifetime = moment - (received + self._skew)
        if lifetime <= 0:
            logger.warning(
                "%s: GitHub says the new installation token expired already (this computer's "
                "clock may be wrong); taking one hour",
                self.label,
            )
            return DEFAULT_TOKEN_LIFETIME
        return lifetime

    # --- one App request, with retries ---------------------------------------------------

    def _sign(self) -> str:
        now = int(self._clock() + self._skew)
        claims = {
            "iat": now - JWT_BACKDATE_SECONDS,
            "exp": now + JWT_LIFETIME_SECONDS,
            "iss": self._app_id,
        }
        try:
            encoded = jwt.encode(claims, self._key, algorithm="RS256")
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise ConfigInvalid(
                f"{self._key_source} cannot sign GitHub App {self._app_id}'s JSON web tokens "
                f"({type(exc).__name__}) — use the private key (.pem) generated on the App's "
                "settings page"
            ) from None
        signature = encoded.rpartition(".")[2]
        if signature not in self._issued:
            self._issued.append(signature)
        return encoded

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        problem_of: Callable[[dict[str, Any]], str | None],
    ) -> tuple[dict[str, Any], float]:
        """The JSON object a 2xx answer to ``method path`` holds (checked by ``problem_of``),
        and when it was received; TransientError once retries are spent, AuthenticationFailed
        for a refusal."""
        url = self._origin.resolve(path)
        tries = _Tries()
        while True:
            retry_after: float | None = None
            request = httpx.Request(
                method,
                url,
                headers={**self._headers, "Authorization": f"Bearer {self._sign()}"},
                extensions={"timeout": httpx.Timeout(self._timeout).as_dict()},
            )
            try:
                async with asyncio.timeout(self._timeout):
                    response = await fetch(self._transport, request)
            except TRANSIENT_HTTPX as exc:
                problem = describe_failure(exc, url, self._timeout)
            except TimeoutError:
                problem = f"GitHub did not answer {url} within {self._timeout:g} s"
            else:
                received = self._clock()
                skew_before = self._skew
                self._learn_skew(response, received)
                status = response.status_code
                if 200 <= status < 300:
                    body, odd, _ = read_body(response, expect="object", key=None)
                    odd = odd or problem_of(body)
                    if odd is None:
                        return body, received
                    problem = f"GitHub answered {url} with {odd} where {what} belongs"
                elif status == 401 and self._skew != skew_before and not tries.skew_retried:
                    # The JWT was signed by a clock GitHub's Date header says is off: once more.
                    tries.skew_retried = True
                    continue
                elif self._retryable(response):
                    problem = f"GitHub answered {status} {response.reason_phrase} for {url}"
                    retry_after = parse_retry_after(response.headers.get("retry-after"), received)
                else:
                    raise AuthenticationFailed(self._refusal(response, what)) from None
            await self._back_off(tries, self._scrub(problem), retry_after, url)

    def _retryable(self, response: httpx.Response) -> bool:
        status = response.status_code
        if status >= 500 or status == 429:
            return True
        if status != 403:
            return False
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock())
        rate = parse_rate_headers(pick_headers(response.headers.raw))
        return classify_limit(status, github_message(response), retry_after, rate) is not None

    async def _back_off(
        self, tries: _Tries, problem: str, retry_after: float | None, url: str
    ) -> None:
        if tries.failures >= self._retries:
            raise TransientError(
                f"could not get {self.label}'s installation token: {problem} — gave up after "
                f"{tries.failures + 1} attempts; try again later (`ghye resume` continues "
                "where the run stopped)",
                url=url,
                detail=problem,
            )
        delay = self._backoff * float(2**tries.failures)
        if retry_after is not None:
            delay = retry_after
        delay = min(delay, MAX_BACKOFF_SECONDS)
        tries.failures += 1
        logger.debug("%s; retry %d of %d in %.1f s", problem, tries.failures, self._retries, delay)
        await self._sleep(delay)

    def _learn_skew(self, response: httpx.Response, received: float) -> None:
        server = _parse_http_date(response.headers.get("date"))
        if server is None:
            return
        skew = server - received
        self._skew = skew if abs(skew) > SKEW_TOLERANCE_SECONDS else 0.0

    # --- messages ------------------------------------------------------------------------

    def _refusal(self, response: httpx.Response, what: str) -> str:
        """What GitHub's refusal of an App request means, and what to do (scrubbed)."""
        status = response.status_code
        said = f"{status} {github_message(response) or response.reason_phrase}"
        app = f"GitHub App {self._app_id}"
        owner = f"{self._owner_kind} {self._owner}"
        looking_up = what == "the installation"
        if status == 401:
            text = (
                f"GitHub refused {app}'s JSON web token ({said}) — check "
                f"{self._config_key}.app_id and that the private key ({self._key_source}) is this "
                f"App's{self._clock_hint()}"
            )
        elif status == 404 and looking_up:
            text = (
                f"{app} is not installed on {owner} ({said}) — install it there, or set "
                f"{self._config_key}.installation_id"
            )
        elif status == 404 and self._configured_id:
            text = (
                f"{app} has no installation {self._installation_id} ({said}) — check "
                f"{self._config_key}.installation_id, or leave it out to look up the App's "
                f"installation on {owner}"
            )
        elif status == 404:
            text = (
                f"{app}'s installation {self._installation_id} on {owner} is gone ({said}) — "
                "the App was uninstalled; install it again"
            )
        elif status == 403 and looking_up:
            text = (
                f"GitHub refused to show {app}'s installation on {owner} ({said}) — check the "
                "App's settings and its installation there"
            )
        elif status == 403:
            text = (
                f"GitHub refused an installation token for {self.label} ({said}) — the "
                "installation may be suspended, or the App may lack a permission; check the "
                f"App's installation on {owner}"
            )
        elif 300 <= status < 400:
            text = (
                f"GitHub answered {status} {response.reason_phrase} when asked for {what} of "
                f"{self.label} — not followed; check github.api_url"
            )
        else:
            text = f"GitHub refused {what} of {self.label} ({said})"
        return self._scrub(text)

    def _clock_hint(self) -> str:
        if not self._skew:
            return ""
        direction = "behind" if self._skew > 0 else "ahead of"
        return (
            f"; this computer's clock is {abs(self._skew):.0f} s {direction} GitHub's — set it "
            "right (NTP)"
        )

    def _scrub(self, text: str) -> str:
        return scrub(text, self._issued)


# --- pure helpers ----------------------------------------------------------------------------


def load_private_key(pem: bytes, source: str, app_id: str) -> RSAPrivateKey:
    """The RSA private key in ``pem``; ConfigInvalid naming ``source`` (never the key) if not."""
    advice = (
        f"— use the private key (.pem) generated on GitHub App {app_id}'s settings page, "
        "unencrypted, as GitHub gives it"
    )
    if not pem.strip():
        raise ConfigInvalid(f"{source} is empty {advice}")
    try:
        key = load_pem_private_key(pem, password=None)
    except TypeError:
        raise ConfigInvalid(f"{source} holds a password-protected private key {advice}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigInvalid(f"{source} does not hold a readable PEM private key {advice}") from None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigInvalid(
            f"{source} holds a private key that is not RSA (GitHub Apps sign with RS256) {advice}"
        )
    if key.key_size < MIN_KEY_BITS:  # GitHub makes 2048-bit keys; this one is not GitHub's
        raise ConfigInvalid(f"{source} holds a {key.key_size}-bit RSA key, too short {advice}")
    return key


def _installation_problem(body: dict[str, Any]) -> str | None:
    value = body.get("id")
    if type(value) is not int or value <= 0:  # type(): a bool is no id
        return "an object without a numeric 'id'"
    return None


def _token_problem(body: dict[str, Any]) -> str | None:
    value = body.get("token")
    if not isinstance(value, str) or TOKEN_RE.match(value) is None:
        return "an object without a usable 'token'"
    return None


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


def _parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP Date header; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


__all__ = ["AppInstallation", "OwnerKind"]
