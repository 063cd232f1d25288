"""The validated configuration: frozen dataclasses, and the digest of what defines the dataset.

Only the keys that define the dataset (api_url, target, window, discovery filters, enabled
endpoints) go into the digest: changing concurrency or limiter settings between runs is fine.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from gh_year_end.endpoints import OPT_IN_SWITCHES, SWITCHES, Endpoint, Window, for_switches

DEFAULT_API_URL: Final = "https://api.github.com"

TargetMode = Literal["org", "user"]
Visibility = Literal["all", "public", "private"]


@dataclass(frozen=True)
class TargetConfig:
    """Whose activity is collected."""

    mode: TargetMode
    name: str


@dataclass(frozen=True)
class AppAuthConfig:
    """One GitHub App installation to authenticate as (the key itself is never stored here)."""

    app_id: str
    """The App's id (or client id): the ``iss`` of its JSON web tokens."""
    private_key_file: Path | None = None
    private_key_env: str | None = None
    """Exactly one of the two says where the App's private key (PEM) is."""
    installation_id: int | None = None
    """None: found through GET /orgs/{org}/installation (or /users/{user}/installation)."""


@dataclass(frozen=True)
class AuthConfig:
    """Where the credentials come from (their values are never stored here).

    ``token_env``: the variables holding tokens — one, or several for a pool of credentials the
    user controls; a single variable falls back to GH_TOKEN as the gh CLI does. ``apps``: GitHub
    App installations. When apps are configured and ``token_env`` is not, no token is used.
    """

    token_env: tuple[str, ...] = ("GITHUB_TOKEN",)
    apps: tuple[AppAuthConfig, ...] = ()


ReviewsVia = Literal["graphql", "rest"]


@dataclass(frozen=True)
class DiscoveryConfig:
    """Which of the target's repositories are collected."""

    include_forks: bool = False
    include_archived: bool = False
    visibility: Visibility = "all"


@dataclass(frozen=True)
class WindowConfig:
    """The half-open window [since, until), both aware UTC."""

    year: int
    since: datetime
    until: datetime


@dataclass(frozen=True)
class GitHubConfig:
    """The `github:` section."""

    target: TargetConfig
    windows: WindowConfig
    api_url: str = DEFAULT_API_URL
    auth: AuthConfig = field(default_factory=AuthConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)


@dataclass(frozen=True)
class RateLimitConfig:
    """The `rate_limit:` section: how hard ghye may push. None of it defines the dataset."""

    max_concurrency: int = 4
    points_per_minute: int = 900
    max_retries: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    secondary_min_wait_seconds: float = 60.0
    reset_margin_seconds: float = 1.0
    request_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class EnableConfig:
    """Which endpoints are collected."""

    pulls: bool = True
    issues: bool = True
    reviews: bool = True
    comments: bool = True
    commits: bool = True
    hygiene: bool = False
    """Repository health (the ``repo_health`` endpoint); gh-year-end's name for it."""
    commit_stats: bool = False
    """The sizes of the window's commits (also turned on by gh-year-end's
    ``collection.commits.include_files``)."""


#: Where repository health looks for files by default: the root, ``.github/`` and ``docs/``.
DEFAULT_HEALTH_PATHS: Final = (
    "README",
    "LICENSE",
    "SECURITY.md",
    "CONTRIBUTING.md",
    "CODE_OF_CONDUCT.md",
    "CODEOWNERS",
)
DEFAULT_WORKFLOW_PREFIXES: Final = (".github/workflows/",)


@dataclass(frozen=True)
class HygieneConfig:
    """``collection.hygiene``: what repository health looks for."""

    paths: tuple[str, ...] = DEFAULT_HEALTH_PATHS
    """A name without a folder is looked for in the root, ``.github/`` and ``docs/``; one with
    a folder there only. A name without an extension also matches it with any (README.md)."""
    workflow_prefixes: tuple[str, ...] = DEFAULT_WORKFLOW_PREFIXES
    """Folders whose YAML files are CI workflows."""


@dataclass(frozen=True)
class CollectionConfig:
    """The `collection:` section."""

    enable: EnableConfig = field(default_factory=EnableConfig)
    hygiene: HygieneConfig = field(default_factory=HygieneConfig)
    reviews_via: ReviewsVia = "graphql"
    """How reviews are read: GitHub's GraphQL API (the reviews of 100 pull requests per query,
    records in REST's shape) or REST (one request per pull request). Not part of the dataset:
    both give the same records."""


@dataclass(frozen=True)
class StorageConfig:
    """The `storage:` section."""

    root: Path = Path("data")


@dataclass(frozen=True)
class Config:
    """A validated ghye configuration."""

    github: GitHubConfig
    rate_limit: RateLimitConfig = field(default_factory=RateLimitConfig)
    collection: CollectionConfig = field(default_factory=CollectionConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    source: Path | None = None
    ignored: tuple[str, ...] = ()
    """Keys of gh-year-end's config the file holds that ghye accepts and does not use (a
    section as ``report.*``): named in one warning line when a run starts."""

    def warn_ignored(self) -> None:
        """Log :meth:`ignored_line` as a warning (a run's first words; once per command)."""
        line = self.ignored_line()
        if line is not None:
            logging.getLogger("gh_year_end.config").warning("%s", line)

    def ignored_line(self) -> str | None:
        """The one warning line naming the keys ghye does not use (None: there are none)."""
        if not self.ignored:
            return None
        return (
            "not used by ghye (gh-year-end keys, accepted): "
            + ", ".join(self.ignored)
            + " (docs/config.md lists each gh-year-end key and what ghye does with it)"
        )

    @property
    def enabled_endpoints(self) -> tuple[Endpoint, ...]:
        """The endpoints switched on in ``collection.enable``, in plan order (validation made
        sure a dependency such as reviews → pulls is switched on too)."""
        return for_switches(self.enabled_switches)

    @property
    def window(self) -> Window:
        """The window [since, until) the dataset covers."""
        return Window(since=self.github.windows.since, until=self.github.windows.until)

    @property
    def enabled_switches(self) -> tuple[str, ...]:
        """The `collection.enable` switches that are on, in table order."""
        return tuple(n for n in SWITCHES if getattr(self.collection.enable, n))

    def dataset_keys(self) -> dict[str, Any]:
        """The values that determine the dataset, by key path. Nothing else goes in the digest."""
        gh = self.github
        return {
            "github.api_url": gh.api_url,
            "github.target.mode": gh.target.mode,
            "github.target.name": gh.target.name,
            "github.windows.since": iso_utc(gh.windows.since),
            "github.windows.until": iso_utc(gh.windows.until),
            "github.discovery.include_forks": gh.discovery.include_forks,
            "github.discovery.include_archived": gh.discovery.include_archived,
            "github.discovery.visibility": gh.discovery.visibility,
            # An opt-in switch is in the digest only when on: a dataset made before it existed
            # keeps its digest.
            **{
                f"collection.enable.{n}": getattr(self.collection.enable, n)
                for n in SWITCHES
                if n not in OPT_IN_SWITCHES or getattr(self.collection.enable, n)
            },
            **(
                {
                    "collection.hygiene.paths": list(self.collection.hygiene.paths),
                    "collection.hygiene.workflow_prefixes": list(
                        self.collection.hygiene.workflow_prefixes
                    ),
                }
                if self.collection.enable.hygiene
                else {}
            ),
        }

    @property
    def digest(self) -> str:
        """sha256 of the dataset-defining values: concurrency and limiter settings stay out."""
        return dataset_digest(self.dataset_keys())


def dataset_digest(keys: Mapping[str, Any]) -> str:
    """The digest of a dataset-key mapping, as stored in a checkpoint."""
    return hashlib.sha256(orjson.dumps(dict(keys), option=orjson.OPT_SORT_KEYS)).hexdigest()


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
