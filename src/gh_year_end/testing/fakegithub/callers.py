"""Who sent a data request, and which route answers it: a token's account (the REST routes, or
GraphQL at its path), the App's JWT (the App routes), or the 401 that refuses it.

Every limit and every x-ratelimit-* header is the account's that sent the request, as on
GitHub (:mod:`.accounts`, :mod:`.limits`): ``token`` is the primary account's (fake-user, or
the owner in user mode), each of ``tokens`` its login's — tokens of one login share one budget;
an installation token of the App (:mod:`.apps`) spends its installation's budget until it
expires. An unknown token, an expired installation token, a JWT (it is no token) or no
credential at all is 401 "Bad credentials" (counted ``bad_auth``; an expired one also
``expired_tokens``), spends nothing and carries the anonymous budget's headers (60 per window;
an expired installation token's: its installation's). The App routes (``GET /app``,
``GET /orgs/{org}/installation``, ``GET /users/{user}/installation``, ``POST
/app/installations/{id}/access_tokens``) take a JWT instead, verified as GitHub does (a flaw:
GitHub's 401 or 404 for it, no route, no fault), and then spend the App's own budget. The log
names the credential: "token", "tokens[i]", "installation token", "jwt", "unknown", "expired
installation token" (never the secret).

GraphQL is served at :func:`graphql_path`; with graphql-core missing the path answers 501.
"""

from __future__ import annotations

from collections.abc import Callable

from gh_year_end.testing.fakegithub import control
from gh_year_end.testing.fakegithub.accounts import ANONYMOUS, Account, Accounts
from gh_year_end.testing.fakegithub.apps import FakeApp
from gh_year_end.testing.fakegithub.data import FakeData
from gh_year_end.testing.fakegithub.limits import Limits
from gh_year_end.testing.fakegithub.records import Records
from gh_year_end.testing.fakegithub.settings import FakeSettings
from gh_year_end.testing.fakegithub.wire import (
    GRAPHQL_DOCS_URL,
    Request,
    Response,
    bearer_token,
    error_response,
)

Route = Callable[[Request], Response]
"""A request → its answer (the REST routes, GraphQL)."""


class Callers:
    """Finds a data request's caller and route (see the module docstring)."""

    def __init__(
        self,
        *,
        accounts: Accounts,
        app: FakeApp,
        limits: Limits,
        stats: control.Stats,
        api: Route,
        graphql: Route | None,
    ) -> None:
        """``api``: the REST routes; ``graphql``: GraphQL's (None: graphql-core is missing)."""
        self._accounts = accounts
        self._app = app
        self._limits = limits
        self._stats = stats
        self._api = api
        self._graphql = graphql

    def identify(
        self, req: Request, *, graphql: bool
    ) -> tuple[Account | Response, str | None, Route]:
        """The account whose budget ``req`` spends (or the answer refusing it), how the log
        names its credential (None: there was none) and the route that answers it.
        ``graphql``: the request is to GraphQL's path."""
        token = bearer_token(req.headers.get("authorization", ""))
        app = self._app
        if FakeApp.route_of(req) is not None:
            refused = app.verify(token)
            if refused is not None:
                self._count(bad_auth=1)
                refused.headers += self._limits.headers(ANONYMOUS)
                return refused, "jwt", app.handle
            assert app.account is not None  # a JWT it verified: there is an App
            return app.account, "jwt", app.handle
        found, credential = self._caller(token, graphql=graphql)
        route = self._api
        if graphql:
            route = self._graphql or _graphql_missing
        return found, credential, route

    def _caller(self, token: str | None, *, graphql: bool) -> tuple[Account | Response, str | None]:
        """The account a data request's token spends, or the 401 refusing it, and how the log
        names the token (None: there was none).

        The 401 "Bad credentials" refuses an unknown token, an expired installation token, a
        JWT (no token) and no credential at all; it spends nothing. Its x-ratelimit-* headers
        are the installation's for an expired installation token (its budget as it stands),
        else the anonymous budget's. (GitHub has been measured to send none on the 401 for a
        credential it could not resolve; the fake keeps its every-answer-has-them contract,
        which its tests rely on, with headers that tell no lie about the credential's budget.)
        """
        expired = False
        if token is not None:
            static = self._accounts.credential(token)
            if static is not None:
                return static.account, static.label
            found = self._app.token_account(token)
            if isinstance(found, Account):
                return found, "installation token"
            expired = found == "expired"
        self._count(bad_auth=1, expired_tokens=int(expired))
        docs = {"documentation_url": GRAPHQL_DOCS_URL} if graphql else {}
        response = error_response(401, "Bad credentials", **docs)
        whose = self._app.installation if expired else None
        response.headers += self._limits.headers(whose or ANONYMOUS, graphql=graphql)
        label = None if token is None else "expired installation token" if expired else "unknown"
        return response, label

    def _count(self, *, bad_auth: int = 0, expired_tokens: int = 0) -> None:
        with self._stats.lock:
            self._stats.bad_auth += bad_auth
            self._stats.expired_tokens += expired_tokens


def graphql_path(prefix: str) -> str:
    """Where GraphQL is served for a REST ``prefix``: GitHub.com's ``/graphql`` (no prefix);
    GHES's ``/api/graphql`` beside ``/api/v3``; ``<prefix>/graphql`` for any other prefix."""
    return prefix.removesuffix("/v3") + "/graphql"


def graphql_route(
    data: FakeData, records: Records, limits: Limits, settings: FakeSettings
) -> Route | None:
    """GraphQL's route, or None when graphql-core is not installed (it is imported only here:
    the REST fake runs without it)."""
    try:
        from gh_year_end.testing.fakegithub.graphql_api import GraphQLApi  # noqa: PLC0415
    except ImportError:
        return None
    return GraphQLApi(data, records, limits, settings).handle


def _graphql_missing(_req: Request) -> Response:
    return error_response(
        501, "the fake GitHub serves GraphQL with graphql-core, which is not installed"
    )
