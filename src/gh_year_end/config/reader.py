"""Walking the parsed YAML: the schema of the sections ghye owns, and a reader whose every
error names the file and the key.

A config written for gh-year-end loads unchanged: the sections ghye does not use (``report``,
``identity``, ``thresholds``, …) are accepted and ignored. Inside the sections ghye owns, an
unknown key is an error with a did-you-mean, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any, Final

import yaml

from gh_year_end.endpoints import SWITCHES
from gh_year_end.errors import ConfigInvalid

# The schema: for every section ghye owns, its keys. A value is either a nested schema (dict),
# or ``IGNORED`` for keys gh-year-end configs carry that ghye accepts and does not use.
IGNORED: Final = object()

SCHEMA: Final[dict[str, Any]] = {
    "github": {
        "api_url": None,
        "target": {"mode": None, "name": None},
        "auth": {"token_env": None, "app": None},
        "discovery": {
            "include_forks": None,
            "include_archived": None,
            "visibility": None,
            # gh-year-end's discovery filters: accepted, named as not used.
            "activity_filter": IGNORED,
            "size_filter": IGNORED,
            "language_filter": IGNORED,
            "topics_filter": IGNORED,
            "name_pattern_filter": IGNORED,
            "quick_scan": IGNORED,
        },
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
        "enable": dict.fromkeys(SWITCHES),
        "reviews_via": None,
        "commits": {
            "include_files": None,
            # gh-year-end's other commit knobs: accepted, named as not used.
            "classify_files": IGNORED,
            "max_per_repo": IGNORED,
            "max_pages": IGNORED,
            "since_days": IGNORED,
        },
        "hygiene": {
            "paths": None,
            "workflow_prefixes": None,
            # ghye reads both best-effort, each "not visible to this credential" when so.
            "branch_protection": IGNORED,
            "security_features": IGNORED,
        },
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

NAME_RE: Final = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?$")
ENV_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Whitespace and control characters: urlsplit silently drops some (tab, newline) and keeps
# others in the host name, where httpx later refuses them or looks them up.
URL_JUNK_RE: Final = re.compile(r"[\s\x00-\x1f\x7f]")

# The years a window may span: GitHub's data starts in 2008; a window ends by 2101-01-01.
FIRST_YEAR: Final = 2008
LAST_YEAR: Final = 2100
EARLIEST: Final = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)

# A config is a few kilobytes; anything past this is the wrong file (and is not read whole).
MAX_CONFIG_BYTES: Final = 1024 * 1024


class YamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a date or time no calendar has (2025-02-30,
    0000-01-01) stays the text it was written as instead of raising ValueError, so the key it
    sits under is the one the error names."""


def _timestamp(loader: YamlLoader, node: yaml.ScalarNode) -> object:
    # (An explicit !!timestamp on a list or mapping still fails as YAML: construct_scalar raises.)
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return loader.construct_scalar(node)


YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


# gh-year-end keys whose value asks for nothing ghye does not do: JSONL is what ghye writes,
# and files left unclassified is what ghye gives.
_HONOURED: Final[dict[str, object]] = {
    "storage.raw_format": "jsonl",
    "collection.commits.classify_files": False,
}


def _honoured(path: str, value: object) -> bool:
    return path in _HONOURED and value == _HONOURED[path] and type(value) is type(_HONOURED[path])


class Reader:
    """Walks the parsed YAML, checking keys against the schema; every error names file and key."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.ignored: list[str] = []
        """The keys the file holds that ghye accepts and does not use (``report.*`` for a
        section), in the order met."""

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
                if sub is IGNORED:
                    path = join_key(prefix, key)
                    if not _honoured(path, value):
                        whole = isinstance(value, Mapping)
                        self.ignored.append(path + (".*" if whole else ""))
                    continue
                if isinstance(sub, dict):
                    if value is None:
                        continue
                    if not isinstance(value, Mapping):
                        raise self.fail(
                            join_key(prefix, key), f"must be a mapping, got {kind_of(value)}"
                        )
                    self.check_keys(value, sub, join_key(prefix, key))
                continue
            close = difflib.get_close_matches(key, list(schema), n=1, cutoff=0.6)
            hint = f" — did you mean '{join_key(prefix, close[0])}'?" if close else ""
            known = ", ".join(k for k in schema if schema[k] is not IGNORED)
            raise self.fail(join_key(prefix, key), f"unknown key{hint} (known here: {known})")

    def section(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key)
        return value if isinstance(value, Mapping) else {}

    def text(self, data: Mapping[str, Any], key: str, path: str, default: str | None) -> str:
        value = data.get(key, default)
        if value is None:
            raise self.fail(path, "is required")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be a non-empty string, got {kind_of(value)}")
        return value.strip()

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(path, f"must be true or false, got {kind_of(value)}")
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
            raise self.fail(path, f"must be {want}, got {kind_of(value)}")
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
        inside = EARLIEST < moment <= LATEST if end else EARLIEST <= moment < LATEST
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
            raise self.fail(path, f"must be a date like 2025-01-01, got {kind_of(value)}")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            raise self._out_of_range(value, path) from None


def join_key(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def kind_of(value: object) -> str:
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
