"""YAML text → a validated :class:`~gh_year_end.config.model.Config` (every rule, one error line
each, naming the file and the key)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from gh_year_end.config.model import (
    DEFAULT_API_URL,
    DEFAULT_HEALTH_PATHS,
    DEFAULT_WORKFLOW_PREFIXES,
    AppAuthConfig,
    AuthConfig,
    CollectionConfig,
    Config,
    DiscoveryConfig,
    EnableConfig,
    GitHubConfig,
    HygieneConfig,
    RateLimitConfig,
    ReviewsVia,
    StorageConfig,
    TargetConfig,
    Visibility,
    WindowConfig,
    iso_utc,
)
from gh_year_end.config.reader import (
    ENV_RE,
    FIRST_YEAR,
    LAST_YEAR,
    NAME_RE,
    SCHEMA,
    URL_JUNK_RE,
    Reader,
    YamlLoader,
    kind_of,
)
from gh_year_end.endpoints import BY_NAME, ENDPOINTS, OPT_IN_SWITCHES, SWITCHES
from gh_year_end.errors import ConfigInvalid


def parse_config(text: str, *, source: str = "<config>", cwd: Path | None = None) -> Config:
    """Parse YAML text into a validated :class:`Config`; errors name ``source`` and the key."""
    reader = Reader(source)
    try:
        data = yaml.load(text, Loader=YamlLoader)  # noqa: S506 — YamlLoader is a SafeLoader
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
            f"{source}: the top level must be a mapping of sections, got {kind_of(data)}"
        )
    reader.check_keys(data, SCHEMA, "")

    gh = reader.section(data, "github")
    if not gh:
        raise reader.fail("github", "is required (target, windows)")
    target_d = reader.section(gh, "target")
    mode = reader.choice(target_d, "mode", "github.target.mode", None, ("org", "user"))
    name = reader.text(target_d, "name", "github.target.name", None)
    if not NAME_RE.match(name):
        raise reader.fail("github.target.name", f"'{name}' is not a GitHub account name")

    api_url = _api_url(reader, reader.text(gh, "api_url", "github.api_url", DEFAULT_API_URL))

    auth = _auth(reader, reader.section(gh, "auth"), cwd)

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
    commits_d = reader.section(coll_d, "commits")
    # gh-year-end turns commit sizes on with collection.commits.include_files.
    sizes = reader.boolean(commits_d, "include_files", "collection.commits.include_files", False)
    enable = EnableConfig(
        **{
            n: reader.boolean(
                en_d,
                n,
                f"collection.enable.{n}",
                (sizes if n == "commit_stats" else False) if n in OPT_IN_SWITCHES else True,
            )
            for n in SWITCHES
        }
    )
    hygiene = _hygiene(reader, reader.section(coll_d, "hygiene"))
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
            auth=auth,
            discovery=discovery,
        ),
        rate_limit=rate_limit,
        collection=CollectionConfig(
            enable=enable,
            hygiene=hygiene,
            reviews_via=_reviews_via(
                reader.choice(
                    coll_d, "reviews_via", "collection.reviews_via", "graphql", ("graphql", "rest")
                )
            ),
        ),
        storage=StorageConfig(root=root),
        ignored=tuple(reader.ignored),
    )


def _hygiene(reader: Reader, data: Mapping[str, Any]) -> HygieneConfig:
    """``collection.hygiene.paths`` and ``workflow_prefixes``: lists of relative paths."""
    found: dict[str, tuple[str, ...]] = {}
    for key, default in (
        ("paths", DEFAULT_HEALTH_PATHS),
        ("workflow_prefixes", DEFAULT_WORKFLOW_PREFIXES),
    ):
        path = f"collection.hygiene.{key}"
        value = data.get(key, list(default))
        if not isinstance(value, list) or not value:
            raise reader.fail(path, f"must be a non-empty list of paths, got {kind_of(value)}")
        items: list[str] = []
        for item in value:
            text = item.strip().strip("/") if isinstance(item, str) else ""
            if not text or ".." in text.split("/") or "\\" in text:
                raise reader.fail(path, f"{item!r} is not a path inside a repository")
            if any(c in text for c in "*?[]"):
                raise reader.fail(path, f"{item!r}: give a name, not a pattern (no * ? [ ])")
            items.append(text + ("/" if key == "workflow_prefixes" else ""))
        found[key] = tuple(items)
    return HygieneConfig(paths=found["paths"], workflow_prefixes=found["workflow_prefixes"])


_APP_KEYS: Final = ("app_id", "private_key_file", "private_key_env", "installation_id")


def _auth(reader: Reader, auth: Mapping[str, Any], cwd: Path | None) -> AuthConfig:
    """github.auth: token variables (one or a list) and GitHub Apps (one or a list)."""
    apps = _apps(reader, auth.get("app"), cwd)
    raw = auth.get("token_env")
    if raw is None:
        names: tuple[str, ...] = () if apps else ("GITHUB_TOKEN",)
    elif isinstance(raw, list):
        if not raw:
            raise reader.fail("github.auth.token_env", "must name at least one variable")
        names = tuple(
            _env_name(reader, item, f"github.auth.token_env[{i}]") for i, item in enumerate(raw)
        )
    else:
        names = (_env_name(reader, raw, "github.auth.token_env"),)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise reader.fail("github.auth.token_env", f"names {repeated[0]} twice")
    return AuthConfig(token_env=names, apps=apps)


def _env_name(reader: Reader, value: object, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise reader.fail(path, f"must be an environment variable name, got {kind_of(value)}")
    name = value.strip()
    if not ENV_RE.match(name):
        raise reader.fail(
            path, f"'{name}' is not an environment variable name — name the variable, not the token"
        )
    return name


def _apps(reader: Reader, raw: object, cwd: Path | None) -> tuple[AppAuthConfig, ...]:
    """github.auth.app: one mapping, or a list of them."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    apps: list[AppAuthConfig] = []
    for i, item in enumerate(items):
        path = f"github.auth.app[{i}]" if isinstance(raw, list) else "github.auth.app"
        if not isinstance(item, Mapping):
            raise reader.fail(
                path,
                "must be a mapping (app_id, and private_key_file or private_key_env), "
                f"got {kind_of(item)}",
            )
        reader.check_keys(item, dict.fromkeys(_APP_KEYS), path)
        app_id = item.get("app_id")
        if isinstance(app_id, bool) or not isinstance(app_id, int | str) or not str(app_id).strip():
            raise reader.fail(
                f"{path}.app_id", f"must be the App's id or client id, got {kind_of(app_id)}"
            )
        key_file, key_env = item.get("private_key_file"), item.get("private_key_env")
        if (key_file is None) == (key_env is None):
            raise reader.fail(path, "needs exactly one of private_key_file and private_key_env")
        file_path: Path | None = None
        if key_file is not None:
            text = reader.text(item, "private_key_file", f"{path}.private_key_file", None)
            file_path = Path(text).expanduser()
            if not file_path.is_absolute():
                file_path = (cwd or Path.cwd()) / file_path
        env = _env_name(reader, key_env, f"{path}.private_key_env") if key_env is not None else None
        installation = item.get("installation_id")
        if installation is not None and (
            isinstance(installation, bool) or not isinstance(installation, int) or installation < 1
        ):
            raise reader.fail(
                f"{path}.installation_id",
                f"must be a positive whole number, got {kind_of(installation)}",
            )
        apps.append(AppAuthConfig(str(app_id).strip(), file_path, env, installation))
    return tuple(apps)


def _reviews_via(value: str) -> ReviewsVia:
    return "rest" if value == "rest" else "graphql"


def _storage_root(reader: Reader, storage: Mapping[str, Any], cwd: Path | None) -> Path:
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


def _api_url(reader: Reader, raw: str) -> str:
    """github.api_url checked and without its trailing slash; errors never echo credentials."""
    api_url = raw.rstrip("/")
    _refuse_credentials(reader, _authority(api_url))
    if URL_JUNK_RE.search(api_url):
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


def _refuse_credentials(reader: Reader, netloc: str) -> None:
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


def _windows(reader: Reader, win: Mapping[str, Any]) -> WindowConfig:
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
            f"since ({iso_utc(since)}) must be before until ({iso_utc(until)})",
        )
    return WindowConfig(year=year, since=since, until=until)


def _contradiction(reader: Reader, year: int, key: str, moment: datetime) -> ConfigInvalid:
    return reader.fail(
        "github.windows.year",
        f"{year} contradicts github.windows.{key} ({iso_utc(moment)}) — "
        "the window must overlap the year; fix one of them",
    )
