"""Requests to a GitHub App's endpoints, each signed with a fresh JWT and retried as the client's
are, and what GitHub's refusal of one means (an AuthenticationFailed that says what to check).

Requests run through the client's pooled transport, only to the configured API's origin
(:class:`~.origin.ApiOrigin`), with its Accept, API-version and User-Agent headers; 5xx,
rate-limit answers, odd bodies and transport failures are retried a few times, then
TransientError. GitHub's Date header tells how far this machine's clock is off; past a
tolerance the JWTs are signed by GitHub's clock (and a 401 that taught it is tried once more).
Every secret issued (JWT signatures, and the tokens :meth:`AppRequests.remember` is given) is
scrubbed from every message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import httpx

from gh_year_end.errors import AuthenticationFailed, TransientError
from gh_year_end.github.answers import describe_failure, github_message, pick_headers, read_body
from gh_year_end.github.app_jwt import JwtSigner

# The module, not its names: client.py may import this module in turn.
from gh_year_end.github.credentials import scrub
from gh_year_end.github.exchange import BASE_HEADERS, TRANSIENT_HTTPX
from gh_year_end.github.origin import ApiOrigin
from gh_year_end.github.ratelimit import classify_limit, parse_rate_headers, parse_retry_after
from gh_year_end.github.tokens import TOKEN_RE
from gh_year_end.github.transport import fetch

logger = logging.getLogger(__name__)

OwnerKind = Literal["org", "user"]

#: A clock this far off GitHub's (its Date header) is corrected in JWTs and token lifetimes.
SKEW_TOLERANCE_SECONDS: Final = 30.0
#: Longest wait between two tries of an App endpoint.
MAX_BACKOFF_SECONDS: Final = 60.0


@dataclass(frozen=True, slots=True)
class AppSetup:
    """A GitHub App as configured, as its requests and messages name it."""

    app_id: str
    key_source: str  # where the private key came from ("the file in …private_key_file")
    config_key: str  # the App's place in the config ("github.auth.app[1]")
    owner: str
    owner_kind: OwnerKind
    configured_id: bool  # the installation id is configured, not looked up


def app_label(app_id: str, installation_id: int | None) -> str:
    """ "GitHub App 123, installation 456" (before the lookup: "GitHub App 123")."""
    if installation_id is None:
        return f"GitHub App {app_id}"
    return f"GitHub App {app_id}, installation {installation_id}"


@dataclass(slots=True)
class _Tries:
    failures: int = 0
    skew_retried: bool = False


class AppRequests:
    """The App endpoints' requests of one GitHub App (see the module docstring)."""

    def __init__(
        self,
        *,
        setup: AppSetup,
        signer: JwtSigner,
        api_url: str,
        transport: httpx.AsyncBaseTransport,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        retries: int,
        backoff_seconds: float,
        timeout_seconds: float,
    ) -> None:
        """ConfigInvalid for an API URL that is not http(s)."""
        self._setup = setup
        self._signer = signer
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._retries = max(0, retries)
        self._backoff = max(0.0, backoff_seconds)
        self._timeout = timeout_seconds
        self._issued: list[str] = []  # every token and JWT signature, for secrets()
        self._origin = ApiOrigin(api_url, scrub=self.scrub)
        self._headers = BASE_HEADERS  # the client's, but for Authorization
        self._skew = 0.0  # GitHub's clock minus ours, when it is off by more than the tolerance

    @property
    def skew(self) -> float:
        """GitHub's clock minus this machine's, when off by more than the tolerance; else 0."""
        return self._skew

    def sign(self) -> str:
        """A new JWT, by GitHub's clock; its signature is remembered as a secret."""
        encoded = self._signer.sign(self._clock() + self._skew)
        signature = encoded.rpartition(".")[2]
        if signature not in self._issued:
            self._issued.append(signature)
        return encoded

    def remember(self, secret: str) -> None:
        """Count ``secret`` (an installation token) among those scrubbed and listed."""
        self._issued.append(secret)

    def secrets(self) -> tuple[str, ...]:
        """Every secret issued so far: installation tokens and JWT signatures."""
        return tuple(self._issued)

    def scrub(self, text: str) -> str:
        """``text`` without any secret issued so far."""
        return scrub(text, self._issued)

    async def call(
        self,
        method: str,
        path: str,
        what: str,
        problem_of: Callable[[dict[str, Any]], str | None],
        installation_id: int | None,
    ) -> tuple[dict[str, Any], float]:
        """The JSON object a 2xx answer to ``method path`` holds (checked by ``problem_of``),
        and when it was received; TransientError once retries are spent, AuthenticationFailed
        for a refusal. ``installation_id``: the installation as known now (for messages)."""
        url = self._origin.resolve(path)
        tries = _Tries()
        while True:
            retry_after: float | None = None
            request = httpx.Request(
                method,
                url,
                headers={**self._headers, "Authorization": f"Bearer {self.sign()}"},
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
                    refusal = self._refusal(response, what, installation_id)
                    raise AuthenticationFailed(refusal) from None
            label = app_label(self._setup.app_id, installation_id)
            await self._back_off(tries, self.scrub(problem), retry_after, url, label)

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
        self, tries: _Tries, problem: str, retry_after: float | None, url: str, label: str
    ) -> None:
        if tries.failures >= self._retries:
            raise TransientError(
                f"could not get {label}'s installation token: {problem} — gave up after "
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

    def _refusal(self, response: httpx.Response, what: str, installation_id: int | None) -> str:
        """What GitHub's refusal of an App request means, and what to do (scrubbed)."""
        setup = self._setup
        status = response.status_code
        said = f"{status} {github_message(response) or response.reason_phrase}"
        app = f"GitHub App {setup.app_id}"
        label = app_label(setup.app_id, installation_id)
        owner = f"{setup.owner_kind} {setup.owner}"
        looking_up = what == "the installation"
        if status == 401:
            text = (
                f"GitHub refused {app}'s JSON web token ({said}) — check "
                f"{setup.config_key}.app_id and that the private key ({setup.key_source}) is "
                f"this App's{self._clock_hint()}"
            )
        elif status == 404 and looking_up:
            text = (
                f"{app} is not installed on {owner} ({said}) — install it there, or set "
                f"{setup.config_key}.installation_id"
            )
        elif status == 404 and setup.configured_id:
            text = (
                f"{app} has no installation {installation_id} ({said}) — check "
                f"{setup.config_key}.installation_id, or leave it out to look up the App's "
                f"installation on {owner}"
            )
        elif status == 404:
            text = (
                f"{app}'s installation {installation_id} on {owner} is gone ({said}) — "
                "the App was uninstalled; install it again"
            )
        elif status == 403 and looking_up:
            text = (
                f"GitHub refused to show {app}'s installation on {owner} ({said}) — check the "
                "App's settings and its installation there"
            )
        elif status == 403:
            text = (
                f"GitHub refused an installation token for {label} ({said}) — the "
                "installation may be suspended, or the App may lack a permission; check the "
                f"App's installation on {owner}"
            )
        elif 300 <= status < 400:
            text = (
                f"GitHub answered {status} {response.reason_phrase} when asked for {what} of "
                f"{label} — not followed; check github.api_url"
            )
        else:
            text = f"GitHub refused {what} of {label} ({said})"
        return self.scrub(text)

    def _clock_hint(self) -> str:
        if not self._skew:
            return ""
        direction = "behind" if self._skew > 0 else "ahead of"
        return (
            f"; this computer's clock is {abs(self._skew):.0f} s {direction} GitHub's — set it "
            "right (NTP)"
        )


def installation_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with an installation lookup's answer (no usable ``id``), if anything."""
    value = body.get("id")
    if type(value) is not int or value <= 0:  # type(): a bool is no id
        return "an object without a numeric 'id'"
    return None


def token_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a token exchange's answer (no usable ``token``), if anything."""
    value = body.get("token")
    if not isinstance(value, str) or TOKEN_RE.match(value) is None:
        return "an object without a usable 'token'"
    return None


def _parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP Date header; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment.timestamp() if moment.tzinfo is not None else None
