"""YAML text → frozen, validated :class:`Config`; :func:`load_config`; the dataset digest.

A config written for gh-year-end loads unchanged: the sections ghye does not use (``report``,
``identity``, ``thresholds``, ``collection.hygiene`` …) are accepted and ignored. Inside the
sections ghye owns, an unknown key is an error with a did-you-mean, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import orjson
import yaml

from gh_year_end.endpoints import BY_NAME, ENDPOINTS, SWITCHES, Endpoint, Window, for_switches
from gh_year_end.errors import ConfigInvalid, ConfigNotFound

DEFAULT_API_URL: Final = "https://api.github.com"

TargetMode = Literal["org", "user"]
Visibility = Literal["all", "public", "private"]


@dataclass(frozen=True)
class TargetConfig:
    """Whose activity is collected."""

    mode: TargetMode
    name: str


@dataclass(frozen=True)
class AuthConfig:
    """Where the token comes from (its value is never stored here)."""

    token_env: str = "GITHUB_TOKEN"  # noqa: S105 — the variable's name, not a token


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


@dataclass(frozen=True)
class CollectionConfig:
    """The `collection:` section."""

    enable: EnableConfig = field(default_factory=EnableConfig)


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
            "github.windows.since": _iso(gh.windows.since),
            "github.windows.until": _iso(gh.windows.until),
            "github.discovery.include_forks": gh.discovery.include_forks,
            "github.discovery.include_archived": gh.discovery.include_archived,
            "github.discovery.visibility": gh.discovery.visibility,
            **{f"collection.enable.{n}": getattr(self.collection.enable, n) for n in SWITCHES},
        }

    @property
    def digest(self) -> str:
        """sha256 of the dataset-defining values: concurrency and limiter settings stay out."""
        return dataset_digest(self.dataset_keys())


def dataset_digest(keys: Mapping[str, Any]) -> str:
    """The digest of a dataset-key mapping, as stored in a checkpoint."""
    return hashlib.sha256(orjson.dumps(dict(keys), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- loading -------------------------------------------------------------------------------

# The schema: for every section ghye owns, its keys. A value is either a nested schema (dict),
# or ``IGNORED`` for keys gh-year-end configs carry that ghye accepts and does not use.
IGNORED: Final = object()

_SCHEMA: Final[dict[str, Any]] = {
    "github": {
        "api_url": None,
        "target": {"mode": None, "name": None},
        "auth": {"token_env": None},
        "discovery": {"include_forks": None, "include_archived": None, "visibility": None},
        "windows": {"year": None, "since": None, "until": None},
    },
    "rate_limit": {
        "max_concurrency": None,
        "points_per_minute": None,
        "max_retries": None,
        "backoff_base_seconds": None,
        "backoff_max_seconds": None,
        "secondary_min_wait_seconds": None,
        "reset_margin_seconds": None,
        "request_timeout_seconds": None,
        # gh-year-end's limiter knobs: accepted, not used (ghye follows GitHub's headers).
        "strategy": IGNORED,
        "min_sleep_seconds": IGNORED,
        "max_sleep_seconds": IGNORED,
        "sample_rate_limit_endpoint_every_n_requests": IGNORED,
        "burst": IGNORED,
        "secondary": IGNORED,
    },
    "collection": {
        "enable": {
            "pulls": None,
            "issues": None,
            "reviews": None,
            "comments": None,
            "commits": None,
            "hygiene": IGNORED,
        },
        "commits": IGNORED,
        "hygiene": IGNORED,
    },
    "storage": {
        "root": None,
        "raw_format": IGNORED,
        "curated_format": IGNORED,
        "dataset_version": IGNORED,
    },
    # Whole sections of gh-year-end that ghye does not use.
    "report": IGNORED,
    "identity": IGNORED,
    "thresholds": IGNORED,
}

_NAME_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$")
_ENV_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Whitespace and control characters: urlsplit silently drops some (tab, newline) and keeps
# others in the host name, where httpx later refuses them or looks them up.
_URL_JUNK_RE: Final = re.compile(r"[\s\x00-\x1f\x7f]")

# The years a window may span: GitHub's data starts in 2008; a window ends by 2101-01-01.
FIRST_YEAR: Final = 2008
LAST_YEAR: Final = 2100
_EARLIEST: Final = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
_LATEST: Final = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)

# A config is a few kilobytes; anything past this is the wrong file (and is not read whole).
MAX_CONFIG_BYTES: Final = 1024 * 1024


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date or time no calendar has (2025-02-30,
    0000-01-01) stays the text it was written as instead of raising ValueError, so the key it
    sits under is the one the error names."""


def _timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    # (An explicit !!timestamp on a list or mapping still fails as YAML: construct_scalar raises.)
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


class _Reader:
    """Walks the parsed YAML, checking keys against the schema; every error names file and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> ConfigInvalid:
        where = f"{self.source}: {key}" if key else self.source
        return ConfigInvalid(f"{where}: {problem}")

    def check_keys(self, data: Mapping[str, Any], schema: Mapping[str, Any], prefix: str) -> None:
        for key in data:
            if not isinstance(key, str):
                raise self.fail(prefix or "(top level)", f"key {key!r} is not a string")
            if key in schema:
                sub = schema[key]
                value = data[key]
                if isinstance(sub, dict):
                    if value is None:
                        continue
                    if not isinstance(value, Mapping):
                        raise self.fail(
                            _join(prefix, key), f"must be a mapping, got {_kind(value)}"
                        )
                    self.check_keys(value, sub, _join(prefix, key))
                continue
            close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
            hint = f" — did you mean '{_join(prefix, close[0])}'?" if close else ""
            known = ", ".join(k for k in schema if schema[k] is not IGNORED)
            raise self.fail(_join(prefix, key), f"unknown key{hint} (known here: {known})")

    def section(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key)
        return value if isinstance(value, Mapping) else {}

    def text(self, data: Mapping[str, Any], key: str, path: str, default: str | None) -> str:
        value = data.get(key, default)
        if value is None:
            raise self.fail(path, "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be a non-empty string, got {_kind(value)}")
        return value.strip()

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {_kind(value)}")
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        minimum: float,
        maximum: float,
        integer: bool,
    ) -> float:
        value = data.get(key, default)
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            want = "a whole number" if integer else "a number"
            raise self.fail(path, f"must be {want}, got {_kind(value)}")
        if not minimum <= value <= maximum:
            raise self.fail(path, f"must be between {minimum:g} and {maximum:g}, got {value}")
        return float(value)

    def choice(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: str | None,
        options: tuple[str, ...],
    ) -> str:
        value = self.text(data, key, path, default)
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise self.fail(path, f"must be one of {' | '.join(options)}, got '{value}'{hint}")
        return value

    def moment(self, data: Mapping[str, Any], key: str, path: str, *, end: bool) -> datetime | None:
        """The value at ``key`` as an aware UTC datetime within the years FIRST_YEAR..LAST_YEAR:
        a start (``end`` False) before 2101-01-01, an end (``end`` True) after 2008-01-01."""
        value = data.get(key)
        if value is None:
            return None
        moment = self._to_utc(value, path)
        inside = _EARLIEST < moment <= _LATEST if end else _EARLIEST <= moment < _LATEST
        if not inside:
            raise self._out_of_range(value, path)
        return moment

    def _out_of_range(self, value: object, path: str) -> ConfigInvalid:
        shown = value.isoformat() if isinstance(value, date) else str(value).strip()
        return self.fail(path, f"must be between {FIRST_YEAR} and {LAST_YEAR}, got {shown}")

    def _to_utc(self, value: object, path: str) -> datetime:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime.combine(value, time.min)
        elif isinstance(value, str):
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                raise self.fail(
                    path,
                    f"'{value}' is not a date — use 2025-01-01 or 2025-01-01T00:00:00Z",
                ) from None
        else:
            raise self.fail(path, f"must be a date like 2025-01-01, got {_kind(value)}")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            raise self._out_of_range(value, path) from None


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return type(value).__name__


def parse_config(text: str, *, source: str = "<config>", cwd: Path | None = None) -> Config:
    """Parse YAML text into a validated :class:`Config`; errors name ``source`` and the key."""
    reader = _Reader(source)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 — _Loader is a SafeLoader
    except RecursionError:
        raise ConfigInvalid(f"{source}: not valid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigInvalid(f"{source}: not valid YAML{where}: {problem}") from None
    if data is None:
        raise ConfigInvalid(f"{source}: the file is empty — start from config/config.example.yaml")
    if not isinstance(data, Mapping):
        raise ConfigInvalid(
            f"{source}: the top level must be a mapping of sections, got {_kind(data)}"
        )
    reader.check_keys(data, _SCHEMA, "")

    gh = reader.section(data, "github")
    if not gh:
        raise reader.fail("github", "is required (target, windows)")
    target_d = reader.section(gh, "target")
    mode = reader.choice(target_d, "mode", "github.target.mode", None, ("org", "user"))
    name = reader.text(target_d, "name", "github.target.name", None)
    if not _NAME_RE.match(name):
        raise reader.fail("github.target.name", f"'{name}' is not a GitHub account name")

    api_url = _api_url(reader, reader.text(gh, "api_url", "github.api_url", DEFAULT_API_URL))

    auth_d = reader.section(gh, "auth")
    token_env = reader.text(auth_d, "token_env", "github.auth.token_env", "GITHUB_TOKEN")
    if not _ENV_RE.match(token_env):
        raise reader.fail(
            "github.auth.token_env",
            f"'{token_env}' is not an environment variable name — name the variable, not the token",
        )

    disc_d = reader.section(gh, "discovery")
    discovery = DiscoveryConfig(
        include_forks=reader.boolean(
            disc_d, "include_forks", "github.discovery.include_forks", False
        ),
        include_archived=reader.boolean(
            disc_d, "include_archived", "github.discovery.include_archived", False
        ),
        visibility=_visibility(
            reader.choice(
                disc_d,
                "visibility",
                "github.discovery.visibility",
                "all",
                ("all", "public", "private"),
            )
        ),
    )

    windows = _windows(reader, reader.section(gh, "windows"))

    rl_d = reader.section(data, "rate_limit")

    def num(key: str, default: float, lo: float, hi: float, *, integer: bool = False) -> float:
        return reader.number(
            rl_d, key, f"rate_limit.{key}", default, minimum=lo, maximum=hi, integer=integer
        )

    rate_limit = RateLimitConfig(
        max_concurrency=int(num("max_concurrency", 4, 1, 64, integer=True)),
        points_per_minute=int(num("points_per_minute", 900, 1, 1_000_000, integer=True)),
        max_retries=int(num("max_retries", 5, 0, 100, integer=True)),
        backoff_base_seconds=num("backoff_base_seconds", 1.0, 0.0, 3600.0),
        backoff_max_seconds=num("backoff_max_seconds", 60.0, 0.0, 3600.0),
        secondary_min_wait_seconds=num("secondary_min_wait_seconds", 60.0, 0.0, 3600.0),
        reset_margin_seconds=num("reset_margin_seconds", 1.0, 0.0, 60.0),
        request_timeout_seconds=num("request_timeout_seconds", 30.0, 0.1, 3600.0),
    )

    coll_d = reader.section(data, "collection")
    en_d = reader.section(coll_d, "enable")
    enable = EnableConfig(
        **{n: reader.boolean(en_d, n, f"collection.enable.{n}", True) for n in SWITCHES}
    )
    for endpoint in ENDPOINTS:
        parent = BY_NAME[endpoint.depends_on] if endpoint.depends_on else None
        if parent and getattr(enable, endpoint.switch) and not getattr(enable, parent.switch):
            raise reader.fail(
                f"collection.enable.{endpoint.switch}",
                f"{endpoint.name} are read from the {parent.name} ghye collects — "
                f"enable {parent.switch} too, or turn {endpoint.switch} off",
            )
    if not any(getattr(enable, n) for n in SWITCHES):
        raise reader.fail(
            "collection.enable", "every endpoint is switched off — enable at least one"
        )

    root = _storage_root(reader, reader.section(data, "storage"), cwd)

    return Config(
        github=GitHubConfig(
            target=TargetConfig(mode="org" if mode == "org" else "user", name=name),
            windows=windows,
            api_url=api_url,
            auth=AuthConfig(token_env=token_env),
            discovery=discovery,
        ),
        rate_limit=rate_limit,
        collection=CollectionConfig(enable=enable),
        storage=StorageConfig(root=root),
    )


def _storage_root(reader: _Reader, storage: Mapping[str, Any], cwd: Path | None) -> Path:
    """storage.root, ~ expanded, relative to ``cwd`` (default: the process's)."""
    text = reader.text(storage, "root", "storage.root", "./data")
    if "\0" in text:
        raise reader.fail("storage.root", "must not contain a NUL character")
    try:
        root = Path(text).expanduser()
    except RuntimeError:  # ~someone with no such user, or ~ with no home folder at all
        raise reader.fail(
            "storage.root",
            f"'{text}' names a home folder that cannot be found — write the full path",
        ) from None
    return root if root.is_absolute() else (cwd or Path.cwd()) / root


def _api_url(reader: _Reader, raw: str) -> str:
    """github.api_url checked and without its trailing slash; errors never echo credentials."""
    api_url = raw.rstrip("/")
    _refuse_credentials(reader, _authority(api_url))
    if _URL_JUNK_RE.search(api_url):
        raise reader.fail(
            "github.api_url",
            f"must be an http(s) URL like {DEFAULT_API_URL} — it holds a space or a control "
            "character",
        )
    bad = reader.fail("github.api_url", f"'{raw}' must be an http(s) URL like {DEFAULT_API_URL}")
    try:
        parts = urlsplit(api_url)  # raises on an unclosed [ (http://[::1)
    except ValueError:
        raise bad from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
    try:
        port = parts.port  # raises on a port that is not a number or above 65535
    except ValueError:
        port = 0
    if port == 0:
        raise reader.fail(
            "github.api_url",
            f"'{raw}' must be an http(s) URL like {DEFAULT_API_URL} — "
            "its port must be a number from 1 to 65535",
        )
    if parts.query or parts.fragment:
        raise reader.fail("github.api_url", "must not carry a query or fragment")
    return api_url


def _authority(url: str) -> str:
    """What may hold user:token@ in ``url``, found without urlsplit (which raises on some URLs
    that still carry credentials): after the ``//`` (or from the start if there is none) up to
    the first / ? or #. A colon-only form (http:user:token@host) is covered too."""
    _, slashes, rest = url.partition("//")
    return re.split(r"[/?#]", rest if slashes else url, maxsplit=1)[0]


def _refuse_credentials(reader: _Reader, netloc: str) -> None:
    """github.api_url must not hold user:token@ (checked before the URL is ever echoed)."""
    if "@" in netloc:
        # Never echo the URL: what sits before the @ is likely a token, and api_url is stored
        # in the checkpoint and the manifest. ghye never sends URL credentials anyway.
        raise reader.fail(
            "github.api_url",
            "must not carry credentials (user:token@) — put the token in the environment "
            "variable named by github.auth.token_env",
        )


def _visibility(value: str) -> Visibility:
    if value == "public":
        return "public"
    if value == "private":
        return "private"
    return "all"


def _windows(reader: _Reader, win: Mapping[str, Any]) -> WindowConfig:
    since = reader.moment(win, "since", "github.windows.since", end=False)
    until = reader.moment(win, "until", "github.windows.until", end=True)
    year_value = win.get("year")
    if year_value is None:
        if since is None:
            raise reader.fail("github.windows.year", "is required (or give github.windows.since)")
        year = since.year
    else:
        year = int(
            reader.number(
                win,
                "year",
                "github.windows.year",
                0,
                minimum=FIRST_YEAR,
                maximum=LAST_YEAR,
                integer=True,
            )
        )
        # The year names the data folder (year=2024): a window that misses it entirely would
        # file one year's activity under another's name. A fiscal window that overlaps it is fine.
        if since is not None and since >= datetime(year + 1, 1, 1, tzinfo=UTC):
            raise _contradiction(reader, year, "since", since)
        if until is not None and until <= datetime(year, 1, 1, tzinfo=UTC):
            raise _contradiction(reader, year, "until", until)
    if since is None:
        since = datetime(year, 1, 1, tzinfo=UTC)
    if until is None:
        until = datetime(year + 1, 1, 1, tzinfo=UTC)
    if since >= until:
        raise reader.fail(
            "github.windows",
            f"since ({_iso(since)}) must be before until ({_iso(until)})",
        )
    return WindowConfig(year=year, since=since, until=until)


def _contradiction(reader: _Reader, year: int, key: str, moment: datetime) -> ConfigInvalid:
    return reader.fail(
        "github.windows.year",
        f"{year} contradicts github.windows.{key} ({_iso(moment)}) — "
        "the window must overlap the year; fix one of them",
    )


def load_config(path: Path, *, cwd: Path | None = None) -> Config:
    """Read and validate the YAML config at ``path`` (a regular file of at most 1 MiB)."""
    text = _read_config(path)
    config = parse_config(text, source=str(path), cwd=cwd)
    return Config(
        github=config.github,
        rate_limit=config.rate_limit,
        collection=config.collection,
        storage=config.storage,
        source=path,
    )


def _read_config(path: Path) -> str:
    """The text of the config file at ``path``.

    It is stat-ed before it is opened: open() blocks forever on a FIFO with no writer, and
    /dev/zero never ends, so anything but a regular file is refused unopened. It is then opened
    non-blocking (in case it was swapped for a FIFO since), checked again, and read at most
    MAX_CONFIG_BYTES + 1 bytes (in case it grew).
    """
    if "\0" in str(path):
        raise ConfigNotFound("config path must not contain a NUL character — pass the YAML file")
    try:
        _check_config_stat(path, path.stat())
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        with open(os.open(path, flags), "rb") as file:
            _check_config_stat(path, os.fstat(file.fileno()))
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigNotFound(
            f"config file {path} not found — copy config/config.example.yaml there and edit it"
        ) from None
    except IsADirectoryError:
        raise ConfigNotFound(f"config path {path} is a folder, not a YAML file") from None
    except OSError as exc:
        raise ConfigNotFound(f"config file {path} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise _too_large(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigInvalid(f"{path}: not a text file (UTF-8 expected)") from None


def _check_config_stat(path: Path, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ConfigNotFound(f"config path {path} is a folder, not a YAML file")
    if not stat.S_ISREG(mode):
        raise ConfigNotFound(
            f"config path {path} is not a regular file ({_file_kind(mode)}) — "
            "pass the YAML file itself"
        )
    if info.st_size > MAX_CONFIG_BYTES:
        raise _too_large(path)


def _too_large(path: Path) -> ConfigInvalid:
    return ConfigInvalid(f"config file {path} is larger than 1 MiB — is it the right file?")


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
