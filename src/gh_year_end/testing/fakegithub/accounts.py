"""Who sends a request: the accounts the fake knows and the tokens that belong to them.

GitHub counts its primary limits per account, not per token: every token of one user spends
that user's budget, and every installation token of one GitHub App installation spends the
installation's. :class:`Account` is such a budget holder; :class:`Accounts` maps the static
tokens of the settings (``token`` and ``tokens``) to theirs. Installation tokens are issued and
expire in :mod:`.apps`.

* ``token`` belongs to the primary account: ``fake-user`` (id :data:`.data.TOKEN_USER_ID`), or
  the owner itself in user mode — as before there were several accounts.
* ``tokens`` maps more tokens to account logins; a login seen twice is one account (one budget),
  the primary's login is the primary account. Other logins get ids from :data:`ACCOUNT_ID_BASE`
  in the order they first appear.
* A GitHub App installation is the account ``installation:<id>`` (its bot's login
  ``<slug>[bot]``); the App itself, authenticated by its JWT, is ``app:<id>`` — requests to the
  App routes spend the App's budget, not its installation's.
* :data:`ANONYMOUS` is a request without any credential (GitHub's per-IP budget: 60 per window).

Admin rights (:func:`has_admin_rights`): the primary account has them on the repos of
``admin_repos``, no other account has any (GitHub then shows no branch protection rule and
refuses ``hasVulnerabilityAlertsEnabled``; REST's ``permissions.admin`` is false).

Who sees what (:func:`sees_private`): in org mode every account is a member of the org and sees
every repo; in user mode another user sees the owner's public repos only (a private one is 404
to it, its ``/user/repos`` is empty), as on GitHub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from gh_year_end.testing.fakegithub.data import TOKEN_USER_ID, TOKEN_USER_LOGIN

AccountKind = Literal["user", "installation", "app", "anonymous"]

ACCOUNT_ID_BASE: Final = 5_000_001
"""The id of the first account ``tokens`` names (the next is +1, …); no other id is near."""
APP_SLUG: Final = "fake-app"
"""The slug of the fake's GitHub App: its installation's bot is ``fake-app[bot]``."""
ANONYMOUS_LIMIT: Final = 60
"""GitHub's budget for requests without a credential (per IP): 60 per window."""


@dataclass(frozen=True, slots=True)
class Account:
    """One budget holder (see the module docstring)."""

    key: str
    """Unique: ``user:<login>`` (lower case), ``installation:<id>``, ``app:<id>``, ``anonymous``."""
    kind: AccountKind
    login: str
    id: int
    primary: bool = False
    """The account of ``settings.token`` (GET /user answers the existing token user for it)."""

    @property
    def label(self) -> str:
        """How stats and the log name it: the login, or "installation 42", "app 7"."""
        if self.kind in ("installation", "app"):
            return f"{self.kind} {self.id}"
        return self.login

    @property
    def limit_message(self) -> str:
        """GitHub's primary-limit message for this account."""
        if self.kind == "installation":
            return f"API rate limit exceeded for installation ID {self.id}."
        if self.kind == "anonymous":
            return (
                "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                "Authenticated requests get a higher rate limit. Check out the documentation "
                "for more details.)"
            )
        return f"API rate limit exceeded for user ID {self.id}."


ANONYMOUS: Final = Account("anonymous", "anonymous", "", 0)


def sees_private(account: Account | None, mode: str) -> bool:
    """Whether ``account`` sees the owner's private repos: in org mode every account with a
    token is a member of the org (read access to every repo), and the App's installation covers
    every repo; in user mode only the owner (the primary account) and the installation do —
    another user is no collaborator, and GitHub answers 404 for a private repo it cannot see.
    ``None`` (no caller known: a direct call in a test) sees everything."""
    if account is None or mode == "org":
        return True
    return account.primary or account.kind == "installation"


def has_admin_rights(account: Account | None) -> bool:
    """Whether ``account`` is the one ``admin_repos`` gives admin rights to: the primary
    account (``settings.token``'s). Other users are members (write access) and the App's
    installation reads; neither administers a repo. ``None`` (a direct call in a test): yes."""
    return account is None or account.primary


def installation_account(installation_id: int) -> Account:
    """The account every installation token of ``installation_id`` spends."""
    return Account(
        f"installation:{installation_id}", "installation", f"{APP_SLUG}[bot]", installation_id
    )


def app_account(app_id: int) -> Account:
    """The App itself, as its JWT authenticates it (the App routes' budget)."""
    return Account(f"app:{app_id}", "app", APP_SLUG, app_id)


@dataclass(frozen=True, slots=True)
class Credential:
    """A static token's account, and how the log names the token (never by its text)."""

    account: Account
    label: str
    """``token`` for ``settings.token``; ``tokens[i]`` for the i-th of ``settings.tokens``."""


class Accounts:
    """The static tokens and the user accounts they belong to."""

    def __init__(
        self, token: str, tokens: Mapping[str, str], *, primary_login: str | None = None
    ) -> None:
        """``primary_login``: the login of ``token``'s account (the owner in user mode)."""
        login = primary_login or TOKEN_USER_LOGIN
        self.primary = Account(f"user:{login.lower()}", "user", login, TOKEN_USER_ID, True)
        self._by_login: dict[str, Account] = {login.lower(): self.primary}
        self._by_token: dict[str, Credential] = {token: Credential(self.primary, "token")}
        for index, (text, owner) in enumerate(tokens.items()):
            account = self._by_login.get(owner.lower())
            if account is None:
                uid = ACCOUNT_ID_BASE + len(self._by_login) - 1
                account = Account(f"user:{owner.lower()}", "user", owner, uid)
                self._by_login[owner.lower()] = account
            self._by_token[text] = Credential(account, f"tokens[{index}]")

    def credential(self, token: str) -> Credential | None:
        """The static token's credential; None for a token the fake does not know."""
        return self._by_token.get(token)

    def user(self, login: str) -> Account | None:
        """The user account of ``login`` (any case), when a token belongs to it."""
        return self._by_login.get(login.lower())

    @property
    def users(self) -> list[Account]:
        """Every user account, the primary first."""
        return list(self._by_login.values())


__all__ = [
    "ACCOUNT_ID_BASE",
    "ANONYMOUS",
    "APP_SLUG",
    "Account",
    "AccountKind",
    "Accounts",
    "Credential",
    "app_account",
    "has_admin_rights",
    "installation_account",
    "sees_private",
]
