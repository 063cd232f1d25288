"""A GitHub App, as GitHub authenticates it: JWTs on the App routes, installation tokens that
expire, and the installation's budget they share.

The App routes (:meth:`FakeApp.is_route`) are authenticated by a JSON web token
(``Authorization: Bearer <jwt>``), verified as GitHub does, each refusal in GitHub's words:

* not a JWT, not RS256, or its signature does not verify with ``app_public_key``: 401 "A JSON web
  token could not be decoded" (what GitHub answers an installation token or a PAT sent there,
  and a JWT signed with another App's key);
* no ``iss``: 401 "Missing 'issuer' claim ('iss') in assertion"; an ``iss`` that is neither a
  number nor a string: 401 "'Issuer' claim ('iss') must be an Integer"; an ``iss`` that is not
  this App's id (a number or its text — client ids are not modelled), or any JWT when no App is
  set: 404 "Integration not found";
* ``iat`` missing or not an integer: 401 "'Issued at' claim ('iat') must be an Integer
  representing the time that the assertion was issued"; ``exp`` missing, not a number, or not
  after now: 401 "'Expiration time' claim ('exp') must be a numeric value representing the
  future time at which the assertion expires"; ``exp`` more than 10 minutes after ``iat``, or
  after now + 10 minutes: 401 "'Expiration time' claim ('exp') is too far in the future";
  ``iat`` after now (beyond :data:`CLOCK_LEEWAY_SECONDS`): the ``iat`` message again.

The routes: ``GET /app`` (the App), ``GET /orgs/{org}/installation`` and
``GET /users/{user}/installation`` (the installation object; 404 when the App is not installed
on that owner — ``/orgs/…`` only in org mode, ``/users/…`` for the owner in either mode), and
``POST /app/installations/{id}/access_tokens`` (201 ``{"token": "ghs_…", "expires_at", …}``;
404 for another installation). They spend the App's own budget (``app:<id>``), never the
installation's. Every other route refuses a JWT (401 Bad credentials: it is no token).

An installation token is accepted on the data routes until ``expires_at`` (the whole second
the answer names, ``app_token_lifetime`` after the exchange, rounded down), then refused 401 Bad
credentials (counted ``expired_tokens``); every token of the installation spends the
installation's budget (``installation:<id>``, whose primary-limit message names the
installation ID). ``GET /user`` and ``GET /user/repos`` with one are GitHub's 403 "Resource not
accessible by integration"; ``GET /installation/repositories`` lists its repos (:mod:`.api`).
Not modelled: repository-selected installations (every repo is in), permissions asked for in
the exchange's body (ignored), revoking a token, suspended installations, client ids as
``iss``, ``GET /repos/{o}/{r}/installation`` and the ``/app/installations`` listings.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gh_year_end.testing.fakegithub.accounts import (
    APP_SLUG,
    Account,
    app_account,
    installation_account,
)
from gh_year_end.testing.fakegithub.data import iso
from gh_year_end.testing.fakegithub.wire import (
    DOCS_URL,
    Request,
    Response,
    json_response,
    not_found,
)

if TYPE_CHECKING:
    from gh_year_end.testing.fakegithub.control import Stats
    from gh_year_end.testing.fakegithub.settings import FakeSettings

JWT_MAX_SECONDS: Final = 600
"""GitHub: a JWT's ``exp`` is "no more than 10 minutes into the future"."""
CLOCK_LEEWAY_SECONDS: Final = 5
"""How far in the future an ``iat`` (and past now + 10 min an ``exp``) may be."""

UNDECODABLE: Final = "A JSON web token could not be decoded"
MISSING_ISS: Final = "Missing 'issuer' claim ('iss') in assertion"
BAD_ISS: Final = "'Issuer' claim ('iss') must be an Integer"
NO_APP: Final = "Integration not found"
BAD_IAT: Final = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
    "was issued"
)
BAD_EXP: Final = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
    "which the assertion expires"
)
FAR_EXP: Final = "'Expiration time' claim ('exp') is too far in the future"
PERMISSIONS: Final = {"contents": "read", "metadata": "read", "pull_requests": "read"}
_TOKEN_ALPHABET: Final = string.ascii_letters + string.digits

AppRoute = Literal["app", "org_installation", "user_installation", "access_tokens"]


def _app_error(status: int, message: str) -> Response:
    """GitHub's App refusals carry the status as text too ("status": "401")."""
    body = {"message": message, "documentation_url": DOCS_URL, "status": str(status)}
    return json_response(status, body, endpoint="app")


class FakeApp:
    """The fake's GitHub App (see the module docstring); answers on the loop thread, while
    :meth:`issued` may be read from any thread."""

    def __init__(
        self,
        settings: FakeSettings,
        clock: Callable[[], float],
        stats: Stats,
        owner: dict[str, Any],
        api: str,
    ) -> None:
        """``owner``: the owner's account record; ``api``: the base URL written in urls."""
        self.settings = settings
        self.app_id = settings.app_id
        self.installation_id = settings.app_installation_id
        self.lifetime = settings.app_token_lifetime
        self._clock = clock
        self._stats = stats
        self._owner = owner
        self._api = api
        self._key: RSAPublicKey | None = None
        if settings.app_public_key is not None:
            key = load_pem_public_key(settings.app_public_key.encode())
            assert isinstance(key, RSAPublicKey)  # settings checked it
            self._key = key
        self._lock = threading.Lock()
        self._tokens: dict[str, int] = {}  # installation token → expires (epoch seconds)
        self.account: Account | None = app_account(self.app_id) if self.app_id else None
        self.installation: Account | None = (
            installation_account(self.installation_id) if self.installation_id else None
        )

    # --- routes --------------------------------------------------------------------------

    @staticmethod
    def route_of(req: Request) -> AppRoute | None:
        """Which App route ``req`` asks for; None for any other route."""
        parts = [unquote(p) for p in req.path.strip("/").split("/")]
        match req.method, parts:
            case "GET", ["app"]:
                return "app"
            case "GET", ["orgs", _, "installation"]:
                return "org_installation"
            case "GET", ["users", _, "installation"]:
                return "user_installation"
            case "POST", ["app", "installations", _, "access_tokens"]:
                return "access_tokens"
        return None

    def handle(self, req: Request) -> Response:
        """Answer an App route whose JWT :meth:`verify` accepted."""
        parts = [unquote(p) for p in req.path.strip("/").split("/")]
        spec = self.settings
        owner = spec.owner.lower()
        match self.route_of(req), parts:
            case "app", _:
                return json_response(200, self._app(), endpoint="app")
            case "org_installation", [_, org, _] if spec.mode == "org" and org.lower() == owner:
                return self._installation_answer()
            case "user_installation", [_, login, _] if login.lower() == owner:
                return self._installation_answer()
            case "access_tokens", [_, _, number, _] if (
                self.installation_id is not None and number == str(self.installation_id)
            ):
                return self._exchange()
        return not_found(str(self.route_of(req)).replace("org_", "").replace("user_", ""))

    def _installation_answer(self) -> Response:
        if self.installation_id is None:
            return not_found("installation")
        return json_response(200, self._installation(), endpoint="installation")

    def _app(self) -> dict[str, Any]:
        owner = self._owner
        return {
            "id": self.app_id,
            "client_id": f"Iv1.{self.app_id:016x}",
            "slug": APP_SLUG,
            "node_id": f"MDM6QXBw{self.app_id}",
            "owner": owner,
            "name": "Fake App",
            "description": "The fake GitHub's App",
            "external_url": "https://example.com",
            "html_url": f"https://github.example/apps/{APP_SLUG}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": dict(PERMISSIONS),
            "events": [],
            "installations_count": 1 if self.installation_id else 0,
        }

    def _installation(self) -> dict[str, Any]:
        owner = self._owner
        number = self.installation_id
        kind = "Organization" if self.settings.mode == "org" else "User"
        settings_url = (
            f"https://github.example/organizations/{owner['login']}/settings/installations/{number}"
            if kind == "Organization"
            else f"https://github.example/settings/installations/{number}"
        )
        return {
            "id": number,
            "client_id": f"Iv1.{self.app_id:016x}",
            "account": owner,
            "repository_selection": "all",
            "access_tokens_url": f"{self._api}/app/installations/{number}/access_tokens",
            "repositories_url": f"{self._api}/installation/repositories",
            "html_url": settings_url,
            "app_id": self.app_id,
            "app_slug": APP_SLUG,
            "target_id": owner["id"],
            "target_type": kind,
            "permissions": dict(PERMISSIONS),
            "events": [],
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    def _exchange(self) -> Response:
        token = "ghs_" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(36))
        expires = int(self._clock() + self.lifetime)
        with self._lock:
            self._tokens[token] = expires
        with self._stats.lock:
            self._stats.app_exchanges += 1
        body = {
            "token": token,
            "expires_at": iso(expires),
            "permissions": dict(PERMISSIONS),
            "repository_selection": "all",
        }
        return json_response(201, body, endpoint="access_tokens")

    # --- authentication --------------------------------------------------------------------

    def verify(self, token: str | None) -> Response | None:
        """None when ``token`` is a JWT of this App that GitHub would accept now; else GitHub's
        refusal (see the module docstring)."""
        if token is None:
            return _app_error(401, UNDECODABLE)
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _app_error(401, UNDECODABLE)
        if not isinstance(claims, dict) or header.get("alg") != "RS256":
            return _app_error(401, UNDECODABLE)
        if "iss" not in claims:
            return _app_error(401, MISSING_ISS)
        issuer = claims["iss"]
        if isinstance(issuer, bool) or not isinstance(issuer, int | str):
            return _app_error(401, BAD_ISS)
        if self._key is None or str(issuer).strip() != str(self.app_id):
            return _app_error(404, NO_APP)
        try:
            jwt.decode(
                token,
                self._key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError:
            return _app_error(401, UNDECODABLE)
        return self._check_times(claims)

    def _check_times(self, claims: dict[str, Any]) -> Response | None:
        now = self._clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if isinstance(iat, bool) or not isinstance(iat, int):
            return _app_error(401, BAD_IAT)
        if isinstance(exp, bool) or not isinstance(exp, int | float) or exp <= now:
            return _app_error(401, BAD_EXP)
        if exp - iat > JWT_MAX_SECONDS or exp > now + JWT_MAX_SECONDS + CLOCK_LEEWAY_SECONDS:
            return _app_error(401, FAR_EXP)
        if iat > now + CLOCK_LEEWAY_SECONDS:
            return _app_error(401, BAD_IAT)
        return None

    # --- installation tokens -----------------------------------------------------------------

    def token_account(self, token: str) -> Account | Literal["expired"] | None:
        """The installation ``token`` spends, "expired" past its ``expires_at``, None when it
        is no installation token of this App."""
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None or self.installation is None:
            return None
        if self._clock() >= expires:
            return "expired"
        return self.installation

    def issued(self) -> list[str]:
        """Every installation token issued so far (for tests that look for leaks)."""
        with self._lock:
            return list(self._tokens)


__all__ = ["FakeApp"]
