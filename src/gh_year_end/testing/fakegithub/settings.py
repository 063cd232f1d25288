"""What the fake serves and how it behaves: :class:`DataSpec` and :class:`FakeSettings`.

Every field carries its help text in ``field(metadata={"help": …})``; the command line
(:mod:`.cli`) is generated from these fields, so a new setting gets its flag, its type, its
choices and its default in ``--help`` by being declared here. Optional metadata keys:

``group``    the ``--help`` section (data fields are in "data"; the rest name theirs)
``choices``  the values allowed (``Literal`` types give theirs by themselves)
``metavar``  the placeholder ``--help`` shows
``parse``    text → value, when the type's own conversion is not the right one
``flag``     the option's name without ``--``, when it is not the field's name with dashes
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Literal

from gh_year_end.testing.fakegithub.faults import DEFAULT_FAULT_KINDS, FAULT_KINDS

MAX_REPOS: Final = 1000
MAX_PER_REPO: Final = 999_999
DATA_START: Final = datetime(2024, 1, 1, tzinfo=UTC)
DATA_END: Final = datetime(2026, 7, 1, tzinfo=UTC)  # exclusive: items run through 2026-06-30
DEFAULT_BOUNDARIES: Final = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class DataSpec:
    """What the fake's data looks like. Item counts are per repository.

    Repo flags and failures are given as repo indexes (``repo-003`` is index 3); indexes past
    ``repos`` are ignored. ``boundaries`` are moments at which some items are placed exactly
    (and one second before), so a window starting or ending there exercises its edges.
    """

    owner: str = field(default="acme", metadata={"help": "the org (or user) owning every repo"})
    mode: Literal["org", "user"] = field(
        default="org", metadata={"help": "an organization's repos, or a user's own"}
    )
    repos: int = field(
        default=12, metadata={"help": f"repositories repo-000, repo-001, … (at most {MAX_REPOS})"}
    )
    seed: int = field(default=1, metadata={"help": "the seed of all the data"})
    pulls: int = field(default=20, metadata={"help": "pull requests per repo"})
    issues: int = field(default=20, metadata={"help": "issues (not pull requests) per repo"})
    issue_comments: int = field(default=40, metadata={"help": "issue comments per repo"})
    review_comments: int = field(default=30, metadata={"help": "review comments per repo"})
    reviews_per_pull: float = field(
        default=1.5, metadata={"help": "reviews per pull request, on average"}
    )
    commits: int = field(default=40, metadata={"help": "commits per repo"})
    forks: tuple[int, ...] = field(default=(3,), metadata={"help": "the repos that are forks"})
    archived: tuple[int, ...] = field(default=(5,), metadata={"help": "the archived repos"})
    private: tuple[int, ...] = field(default=(1, 7), metadata={"help": "the private repos"})
    not_found: tuple[int, ...] = field(
        default=(), metadata={"help": "repos listed, but 404 on every request"}
    )
    blocked: tuple[int, ...] = field(
        default=(), metadata={"help": "repos listed, but 451 (DMCA block) on every request"}
    )
    forbidden: tuple[int, ...] = field(
        default=(),
        metadata={"help": "repos that answer, their lists 403 (not a rate limit)"},
    )
    empty: tuple[int, ...] = field(
        default=(),
        metadata={"help": "repos with no items; /commits answers 409 'Git Repository is empty.'"},
    )
    admin_repos: tuple[int, ...] = field(
        default=(0, 2),
        metadata={
            "help": "repos --token's account has admin rights on (no other account has any): "
            "their REST permissions.admin and security_and_analysis, GraphQL's "
            "branchProtectionRule and hasVulnerabilityAlertsEnabled; elsewhere GitHub shows "
            "no protection rule and refuses the alerts (FORBIDDEN)"
        },
    )
    start: datetime = field(
        default=DATA_START, metadata={"help": "the first moment items may carry"}
    )
    end: datetime = field(
        default=DATA_END, metadata={"help": "the end of the items' range (exclusive)"}
    )
    boundaries: tuple[datetime, ...] = field(
        default=DEFAULT_BOUNDARIES,
        metadata={"help": "moments some items sit exactly at (and 1 s before): window edges"},
    )

    def __post_init__(self) -> None:
        if self.mode not in ("org", "user"):
            raise ValueError(f"mode must be 'org' or 'user', got {self.mode!r}")
        if not self.owner or "/" in self.owner:
            raise ValueError(f"owner must be a GitHub account name, got {self.owner!r}")
        if not 0 <= self.repos <= MAX_REPOS:
            raise ValueError(f"repos must be between 0 and {MAX_REPOS}, got {self.repos}")
        for name in ("pulls", "issues", "issue_comments", "review_comments", "commits"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_PER_REPO:
                raise ValueError(
                    f"{name} must be between 0 and {MAX_PER_REPO} per repo, got {value}"
                )
        if self.pulls + self.issues > MAX_PER_REPO:
            raise ValueError(
                "pulls + issues must stay below 1,000,000 per repo (they share numbers)"
            )
        most_reviews = self.pulls * round(2 * max(0.0, self.reviews_per_pull))
        if self.reviews_per_pull < 0 or most_reviews > MAX_PER_REPO:
            raise ValueError(
                f"reviews_per_pull {self.reviews_per_pull} would make more than "
                f"{MAX_PER_REPO} reviews per repo"
            )
        if self.start.tzinfo is None or self.end.tzinfo is None or self.start >= self.end:
            raise ValueError("start and end must be aware datetimes with start < end")

    @property
    def start_ts(self) -> int:
        """First second items may carry."""
        return int(self.start.timestamp())

    @property
    def end_ts(self) -> int:
        """First second past the data (exclusive)."""
        return int(self.end.timestamp())


def _prefix(text: str) -> str:
    return text.rstrip("/")


def _pem(text: str) -> str:
    """A PEM given on the command line: its text, or the path of the file holding it."""
    if text.lstrip().startswith("-----BEGIN"):
        return text
    try:
        return Path(text).expanduser().read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read a PEM public key from {text}: {exc}") from None


_pem.__name__ = "PEM file"  # argparse names it in its error message


@dataclass(frozen=True)
class FakeSettings(DataSpec):
    """Everything the fake does; the data fields come from :class:`DataSpec`.

    ``rate_limit`` requests per fixed ``rate_window`` seconds per account (the window starts at
    its first request; the default is effectively unlimited), answered ``rate_limit_status``
    beyond it. ``max_concurrent`` data requests in flight per account (None: no secondary
    limit); beyond it 403 with
    ``Retry-After: secondary_retry_after``. ``faults`` maps a data request's number (1-based,
    counted over every request outside ``/_fake/`` since start; ``reset-stats`` does not
    renumber) to a fault kind; ``fault_rate`` draws a fault from ``fault_kinds`` for that share
    of data requests (seeded by ``seed``). ``link_base_url`` replaces ``base_url`` in Link
    headers (to test foreign next links). ``rate_headers`` False sends no x-ratelimit-* header
    on any answer (as behind a proxy that strips them; the limit itself still applies).
    ``trickle_seconds`` is the pause before each body byte of a "trickle" fault.

    GraphQL (:mod:`.graphql_api`): ``graphql`` serves it at POST /graphql (with the GHES prefix
    /api/v3: POST /api/graphql); ``graphql_rate_limit`` points per ``rate_window`` in a window
    of its own; ``graphql_heavy_nodes`` nodes at most before a query is answered 502 (GitHub's
    answer to a query that timed out); ``graphql_int_overflow`` what an ``Int`` field over
    2^31-1 sends.

    Accounts (:mod:`.accounts`): ``token`` is the primary account's (fake-user; the owner in
    user mode); ``tokens`` adds tokens of other accounts (token → login; tokens of one login
    share one budget). Every limit above — both primary windows and ``max_concurrent`` — is
    per account, and every answer carries its account's x-ratelimit-* headers. GitHub App
    (:mod:`.apps`): ``app_id`` with ``app_public_key`` (PEM) verifies JWTs on the App routes as
    GitHub does; ``app_installation_id`` installs it on the owner; its installation tokens live
    ``app_token_lifetime`` seconds and share the installation's budget.
    """

    token: str = field(
        default="fake-token",
        metadata={
            "help": "the token it accepts (Bearer or token), of the account fake-user (in user "
            "mode: of the owner)",
            "group": "server",
        },
    )
    tokens: Mapping[str, str] = field(
        default_factory=dict,
        metadata={
            "help": "more tokens it accepts, each of an account: TOKEN=LOGIN. Tokens of one login "
            "share its budgets (GitHub's limits are per account); --token's login is fake-user "
            "(user mode: the owner); in org mode every account is a member, in user mode the "
            "others see public repos only",
            "group": "accounts",
            "metavar": "TOKEN=LOGIN,…",
        },
    )
    app_id: int | None = field(
        default=None,
        metadata={
            "help": "a GitHub App's id: JWT-authenticated GET /orgs/{org}/installation, "
            "/users/{user}/installation, /app and POST /app/installations/{id}/access_tokens "
            "(none: no App; every JWT is answered 404 'Integration not found')",
            "group": "accounts",
        },
    )
    app_public_key: str | None = field(
        default=None,
        metadata={
            "help": "the App's public key (PEM) its JWTs' RS256 signatures are verified with; "
            "on the command line, the path of a .pem file",
            "group": "accounts",
            "parse": _pem,
            "metavar": "PEM-FILE",
        },
    )
    app_installation_id: int | None = field(
        default=None,
        metadata={
            "help": "the App's installation on the owner; its installation tokens share one "
            "budget (none: the App is not installed — 404)",
            "group": "accounts",
        },
    )
    app_token_lifetime: float = field(
        default=3600.0,
        metadata={
            "help": "how long an installation token lives (GitHub: one hour); past it, 401 Bad "
            "credentials",
            "group": "accounts",
            "metavar": "SECONDS",
        },
    )
    prefix: str = field(
        default="",
        metadata={
            "help": "path prefix of every route, as GitHub Enterprise's /api/v3",
            "group": "server",
            "parse": _prefix,
            "metavar": "/PATH",
        },
    )
    port: int = field(
        default=0,
        metadata={"help": "TCP port on 127.0.0.1 (0: any free port)", "group": "server"},
    )
    latency: float = field(
        default=0.0,
        metadata={
            "help": "seconds from a request to its answer (the fake's own work included)",
            "group": "server",
            "metavar": "SECONDS",
        },
    )
    rate_limit: int = field(
        default=1_000_000,
        metadata={
            "help": "primary limit: requests per window, per account",
            "group": "rate limits",
        },
    )
    rate_window: float = field(
        default=3600.0,
        metadata={
            "help": "the primary limit's fixed window, from the first request",
            "group": "rate limits",
            "metavar": "SECONDS",
        },
    )
    rate_limit_status: int = field(
        default=403,
        metadata={
            "help": "the status beyond the primary limit",
            "group": "rate limits",
            "choices": (403, 429),
        },
    )
    max_concurrent: int | None = field(
        default=None,
        metadata={
            "help": "secondary limit: data requests in flight, per account (none: no secondary "
            "limit)",
            "group": "rate limits",
        },
    )
    secondary_retry_after: int = field(
        default=1,
        metadata={
            "help": "Retry-After of a secondary-limit 403",
            "group": "rate limits",
            "metavar": "SECONDS",
        },
    )
    fault_rate: float = field(
        default=0.0,
        metadata={
            "help": "share of data requests faulted at random (seeded by --seed)",
            "group": "faults",
            "metavar": "SHARE",
        },
    )
    fault_kinds: tuple[str, ...] = field(
        default=DEFAULT_FAULT_KINDS,
        metadata={
            "help": "the kinds --fault-rate draws from (see the fault kinds below)",
            "group": "faults",
            "metavar": "KIND,…",
        },
    )
    faults: Mapping[int, str] = field(
        default_factory=dict,
        metadata={
            "help": "data request number=kind, e.g. 3=reset,9=empty (see the fault kinds below)",
            "group": "faults",
            "metavar": "N=KIND,…",
        },
    )
    slow_seconds: float = field(
        default=2.0,
        metadata={
            "help": "extra delay of a 'slow' fault",
            "group": "faults",
            "metavar": "SECONDS",
        },
    )
    link_base_url: str | None = field(
        default=None,
        metadata={
            "help": "origin+prefix written in Link headers (none: its own base URL)",
            "group": "server",
            "metavar": "URL",
        },
    )
    log_size: int = field(
        default=10_000,
        metadata={"help": "data requests kept for /_fake/log", "group": "server"},
    )
    rate_headers: bool = field(
        default=True,
        metadata={
            "help": "x-ratelimit-* headers on every answer (off: as behind a proxy that strips "
            "them; the limit still applies)",
            "group": "rate limits",
        },
    )
    trickle_seconds: float = field(
        default=2.0,
        metadata={
            "help": "pause before each body byte of a 'trickle' fault",
            "group": "faults",
            "metavar": "SECONDS",
        },
    )
    graphql: bool = field(
        default=True,
        metadata={
            "help": "serve GraphQL at POST /graphql (GHES prefix /api/v3: /api/graphql); off: "
            "404, as a server without it",
            "group": "server",
        },
    )
    graphql_rate_limit: int = field(
        default=1_000_000,
        metadata={
            "help": "GraphQL primary limit: points per --rate-window, per account, its own "
            "window (x-ratelimit-resource: graphql)",
            "group": "rate limits",
        },
    )
    graphql_heavy_nodes: int | None = field(
        default=None,
        metadata={
            "help": "a query asking for more nodes than this answers 502, as GitHub's timeout "
            "(none: never)",
            "group": "faults",
        },
    )
    graphql_int_overflow: Literal["raw", "error"] = field(
        default="raw",
        metadata={
            "help": "an Int field (databaseId) over 2^31-1: 'raw' sends the whole number as "
            "GitHub has been seen to, 'error' sends null and an error as the GraphQL spec asks",
            "group": "server",
        },
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.prefix and (not self.prefix.startswith("/") or self.prefix.endswith("/")):
            raise ValueError(
                f"prefix must look like /api/v3 (leading, no trailing slash), got {self.prefix!r}"
            )
        if not self.token:
            raise ValueError("token must not be empty")
        self._check_accounts()
        if self.rate_limit < 0 or self.rate_window <= 0:
            raise ValueError("rate_limit must be >= 0 and rate_window > 0")
        if self.rate_limit_status not in (403, 429):
            raise ValueError(f"rate_limit_status must be 403 or 429, got {self.rate_limit_status}")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1 (or None for no secondary limit)")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        kinds = [*self.fault_kinds, *self.faults.values()]
        unknown = sorted({k for k in kinds if k not in FAULT_KINDS})
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        if self.latency < 0 or self.slow_seconds < 0:
            raise ValueError("latency and slow_seconds must not be negative")
        if not self.trickle_seconds >= 0:  # NaN too
            raise ValueError(f"trickle_seconds must be >= 0, got {self.trickle_seconds}")
        for name in ("rate_headers", "graphql"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.graphql_rate_limit < 0:
            raise ValueError("graphql_rate_limit must be >= 0")
        if self.graphql_heavy_nodes is not None and self.graphql_heavy_nodes < 0:
            raise ValueError("graphql_heavy_nodes must be >= 0 (or None: never)")
        if self.graphql_int_overflow not in ("raw", "error"):
            raise ValueError(
                f"graphql_int_overflow must be 'raw' or 'error', got {self.graphql_int_overflow!r}"
            )

    def _check_accounts(self) -> None:
        for text, login in self.tokens.items():
            if not text or not text.isprintable() or " " in text:
                raise ValueError(f"tokens: {text!r} is not a token (printable, no spaces)")
            if text == self.token:
                raise ValueError("tokens: the token of --token is listed again")
            if not login or "/" in login or not login.isprintable():
                raise ValueError(f"tokens: {login!r} is not an account login")
        if self.app_id is None:
            if self.app_installation_id is not None or self.app_public_key is not None:
                raise ValueError("app_installation_id and app_public_key need app_id")
            return
        if self.app_id <= 0:
            raise ValueError(f"app_id must be a positive number, got {self.app_id}")
        if self.app_public_key is None:
            raise ValueError("app_id needs app_public_key (the PEM its JWTs are verified with)")
        if self.app_installation_id is not None and self.app_installation_id <= 0:
            raise ValueError(
                f"app_installation_id must be a positive number, got {self.app_installation_id}"
            )
        if not self.app_token_lifetime > 0:  # NaN too
            raise ValueError(f"app_token_lifetime must be > 0, got {self.app_token_lifetime}")
        # Only here: the fake without an App never loads cryptography.
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey  # noqa: PLC0415
        from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
            load_pem_public_key,
        )

        try:
            key = load_pem_public_key(self.app_public_key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError(f"app_public_key is not a PEM public key ({exc})") from None
        if not isinstance(key, RSAPublicKey):
            raise ValueError("app_public_key must be an RSA key (GitHub Apps sign with RS256)")
