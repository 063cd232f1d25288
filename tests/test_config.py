"""Config validation: every key, did-you-mean, bad types, the window in UTC, the dataset digest."""

from __future__ import annotations

import contextlib
import os
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gh_year_end.config import (
    Config,
    dataset_digest,
    load_config,
    parse_config,
)
from gh_year_end.config.reader import IGNORED, SCHEMA
from gh_year_end.errors import ConfigInvalid, ConfigNotFound

MINIMAL = """
github:
  target: {mode: org, name: acme}
  windows: {year: 2025}
"""


def parse(text: str, tmp_path: Path | None = None) -> Config:
    return parse_config(textwrap.dedent(text), source="cfg.yaml", cwd=tmp_path)


def error_of(text: str) -> str:
    with pytest.raises(ConfigInvalid) as info:
        parse(text)
    return str(info.value)


def with_window(
    since: str | None = None, until: str | None = None, year: str | None = "2025"
) -> str:
    lines = ["github:", "  target: {mode: org, name: acme}", "  windows:"]
    if year is not None:
        lines.append(f"    year: {year}")
    if since is not None:
        lines.append(f"    since: {since}")
    if until is not None:
        lines.append(f"    until: {until}")
    return "\n".join(lines) + "\n"


# --- every key --------------------------------------------------------------------------


def test_minimal_config_takes_documented_defaults(tmp_path: Path) -> None:
    config = parse(MINIMAL, tmp_path)
    gh = config.github
    assert gh.api_url == "https://api.github.com"
    assert gh.auth.token_env == ("GITHUB_TOKEN",)
    assert (gh.discovery.include_forks, gh.discovery.include_archived, gh.discovery.visibility) == (
        False,
        False,
        "all",
    )
    assert gh.windows.since == datetime(2025, 1, 1, tzinfo=UTC)
    assert gh.windows.until == datetime(2026, 1, 1, tzinfo=UTC)
    assert config.rate_limit.max_concurrency == 4
    assert config.enabled_switches == ("pulls", "issues", "comments", "reviews", "commits")
    assert config.storage.root == tmp_path / "data"


def test_every_key_is_read(tmp_path: Path) -> None:
    config = parse(
        """
        github:
          api_url: https://ghe.example.com/api/v3/
          target: {mode: user, name: some-user}
          auth: {token_env: MY_TOKEN}
          discovery: {include_forks: true, include_archived: true, visibility: private}
          windows: {year: 2024, since: "2024-03-01", until: "2024-09-01"}
        rate_limit:
          max_concurrency: 8
          points_per_minute: 500
          max_retries: 2
          backoff_base_seconds: 0.5
          backoff_max_seconds: 10
          secondary_min_wait_seconds: 30
          reset_margin_seconds: 2
          request_timeout_seconds: 12.5
        collection:
          enable: {pulls: true, issues: false, reviews: false, comments: true, commits: false}
        storage:
          root: out/data
        """,
        tmp_path,
    )
    gh = config.github
    assert gh.api_url == "https://ghe.example.com/api/v3"  # trailing slash dropped
    assert (gh.target.mode, gh.target.name) == ("user", "some-user")
    assert gh.auth.token_env == ("MY_TOKEN",)
    assert (gh.discovery.include_forks, gh.discovery.include_archived) == (True, True)
    assert gh.discovery.visibility == "private"
    assert gh.windows.year == 2024
    assert gh.windows.since == datetime(2024, 3, 1, tzinfo=UTC)
    assert gh.windows.until == datetime(2024, 9, 1, tzinfo=UTC)
    rl = config.rate_limit
    assert (rl.max_concurrency, rl.points_per_minute, rl.max_retries) == (8, 500, 2)
    assert (rl.backoff_base_seconds, rl.backoff_max_seconds) == (0.5, 10.0)
    assert (rl.secondary_min_wait_seconds, rl.reset_margin_seconds) == (30.0, 2.0)
    assert rl.request_timeout_seconds == 12.5
    assert config.enabled_switches == ("pulls", "comments")
    assert config.storage.root == tmp_path / "out" / "data"


def test_absolute_storage_root_is_kept(tmp_path: Path) -> None:
    config = parse(MINIMAL + f"storage: {{root: {tmp_path / 'abs'}}}\n", Path("/elsewhere"))
    assert config.storage.root == tmp_path / "abs"


def test_full_gh_year_end_config_loads(tmp_path: Path) -> None:
    config = parse(
        r"""
        github:
          target: {mode: org, name: example-org}
          auth: {token_env: GITHUB_TOKEN}
          discovery: {include_forks: false, include_archived: false, visibility: all}
          windows: {year: 2025, since: "2025-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z"}
        rate_limit:
          strategy: adaptive
          max_concurrency: 4
          min_sleep_seconds: 1
          max_sleep_seconds: 60
          sample_rate_limit_endpoint_every_n_requests: 50
          burst: {enabled: true, max_requests: 10}
          secondary: {max_requests_per_minute: 90, backoff_multiplier: 1.5}
        identity:
          bots:
            exclude_patterns: [".*\\[bot\\]$", "^dependabot$"]
            include_overrides: []
          humans_only: true
        thresholds: {stale_pr_days: 30}
        collection:
          enable:
            {pulls: true, issues: true, reviews: true, comments: true, commits: true, hygiene: true}
          commits: {include_files: true, classify_files: true}
          hygiene:
            paths: [SECURITY.md, README.md]
            workflow_prefixes: [.github/workflows/]
            branch_protection: {mode: sample, sample_top_repos_by: prs_merged, sample_count: 25}
            security_features: {best_effort: true}
        storage:
          root: ./data
          raw_format: jsonl
          curated_format: parquet
          dataset_version: v1
        report:
          title: Year in Review 2025
          output_dir: ./site/year=2025
          theme: engineer_exec_toggle
        """,
        tmp_path,
    )
    assert config.github.target.name == "example-org"
    assert config.rate_limit.max_concurrency == 4
    # hygiene → repository health; commits.include_files → commit sizes.
    assert config.enabled_switches == (
        "pulls", "issues", "comments", "reviews", "commits", "hygiene", "commit_stats",
    )  # fmt: skip
    assert config.collection.hygiene.paths == ("SECURITY.md", "README.md")
    assert config.collection.hygiene.workflow_prefixes == (".github/workflows/",)
    # Every key ghye does not use is named — once, a section as section.* — and nothing else.
    assert config.ignored == (
        "rate_limit.strategy",
        "rate_limit.min_sleep_seconds",
        "rate_limit.max_sleep_seconds",
        "rate_limit.sample_rate_limit_endpoint_every_n_requests",
        "rate_limit.burst.*",
        "rate_limit.secondary.*",
        "identity.*",
        "thresholds.*",
        "collection.commits.classify_files",
        "collection.hygiene.branch_protection.*",
        "collection.hygiene.security_features.*",
        "storage.curated_format",
        "storage.dataset_version",
        "report.*",
    )


def test_gh_year_end_discovery_filters_are_accepted_and_named_not_refused(tmp_path: Path) -> None:
    assert parse(MINIMAL, tmp_path).ignored == ()
    text = MINIMAL.replace(
        "github:\n",
        "github:\n  discovery:\n    activity_filter: {enabled: true, min_pushed_within_days: 30}\n"
        "    name_pattern_filter: {enabled: false}\n    quick_scan: {enabled: false}\n",
        1,
    )
    config = parse(text, tmp_path)
    assert config.ignored == (
        "github.discovery.activity_filter.*",
        "github.discovery.name_pattern_filter.*",
        "github.discovery.quick_scan.*",
    )
    assert config.ignored_line() == (
        "not used by ghye (gh-year-end keys, accepted): github.discovery.activity_filter.*, "
        "github.discovery.name_pattern_filter.*, github.discovery.quick_scan.* "
        "(docs/config.md lists each gh-year-end key and what ghye does with it)"
    )


def test_keys_that_ask_for_nothing_ghye_does_not_do_are_not_named(tmp_path: Path) -> None:
    text = (
        MINIMAL + "storage: {raw_format: jsonl}\ncollection: {commits: {classify_files: false}}\n"
    )
    assert parse(text, tmp_path).ignored == ()
    text = MINIMAL + "storage: {raw_format: csv}\ncollection: {commits: {classify_files: true}}\n"
    assert parse(text, tmp_path).ignored == (
        "storage.raw_format",
        "collection.commits.classify_files",
    )


def test_repository_health_and_commit_sizes_are_off_unless_asked_and_stay_out_of_the_digest(
    tmp_path: Path,
) -> None:
    plain = parse(MINIMAL, tmp_path)
    assert "hygiene" not in plain.enabled_switches
    assert "commit_stats" not in plain.enabled_switches
    # A dataset made before these endpoints existed keeps its digest.
    assert not any("hygiene" in k or "commit_stats" in k for k in plain.dataset_keys())
    asked = parse(
        MINIMAL + "collection:\n  enable: {hygiene: true}\n  commits: {include_files: true}\n",
        tmp_path,
    )
    assert asked.enabled_switches[-2:] == ("hygiene", "commit_stats")
    assert asked.dataset_keys()["collection.hygiene.paths"] == [
        "README", "LICENSE", "SECURITY.md", "CONTRIBUTING.md", "CODE_OF_CONDUCT.md", "CODEOWNERS",
    ]  # fmt: skip
    assert asked.digest != plain.digest


def test_a_hygiene_path_outside_the_repository_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + "collection: {hygiene: {paths: [../secrets]}}\n"
    with pytest.raises(ConfigInvalid, match="is not a path inside a repository"):
        parse(text, tmp_path)


def test_the_docs_name_every_gh_year_end_key_ghye_accepts() -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "config.md").read_text()
    for key in _ignored_keys(SCHEMA, ""):
        assert f"`{key}" in docs or f"`{key.rsplit('.', 1)[-1]}" in docs, key


def _ignored_keys(schema: dict[str, Any], prefix: str) -> list[str]:
    found: list[str] = []
    for key, sub in schema.items():
        path = f"{prefix}.{key}" if prefix else key
        if sub is IGNORED:
            found.append(path)
        elif isinstance(sub, dict):
            found += _ignored_keys(sub, path)
    return found


def test_example_config_in_the_repo_loads() -> None:
    example = Path(__file__).resolve().parents[1] / "config" / "config.example.yaml"
    config = load_config(example)
    assert config.source == example
    assert config.github.windows.year == 2025


# --- unknown keys: did-you-mean ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "githb:\n  target: {mode: org, name: a}\n",
            "cfg.yaml: githb: unknown key — did you mean 'github'?",
        ),
        (
            MINIMAL.replace("windows:", "window:"),
            "cfg.yaml: github.window: unknown key — did you mean 'github.windows'?",
        ),
        (
            MINIMAL + "rate_limit: {max_concurency: 2}\n",
            "cfg.yaml: rate_limit.max_concurency: unknown key — "
            "did you mean 'rate_limit.max_concurrency'?",
        ),
        (
            MINIMAL + "collection: {enable: {pull: true}}\n",
            "cfg.yaml: collection.enable.pull: unknown key — "
            "did you mean 'collection.enable.pulls'?",
        ),
        (
            MINIMAL + "storage: {rot: x}\n",
            "cfg.yaml: storage.rot: unknown key — did you mean 'storage.root'?",
        ),
    ],
)
def test_misspelled_key_is_an_error_with_did_you_mean(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_unknown_key_lists_the_known_ones_but_not_ignored_ones() -> None:
    message = error_of(MINIMAL + "storage: {zzz: 1}\n")
    assert message == "cfg.yaml: storage.zzz: unknown key (known here: root)"


# --- bad types and values --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]\n", "cfg.yaml: the top level must be a mapping of sections, got a list"),
        ("", "cfg.yaml: the file is empty — start from config/config.example.yaml"),
        ("rate_limit: {}\n", "cfg.yaml: github: is required (target, windows)"),
        ("github: [1]\n", "cfg.yaml: github: must be a mapping, got a list"),
        (
            "github:\n  target: {name: acme}\n  windows: {year: 2025}\n",
            "cfg.yaml: github.target.mode: is required",
        ),
        (
            "github:\n  target: {mode: orgs, name: acme}\n  windows: {year: 2025}\n",
            "cfg.yaml: github.target.mode: must be one of org | user, got 'orgs' — "
            "did you mean 'org'?",
        ),
        (
            "github:\n  target: {mode: org, name: 'bad name'}\n  windows: {year: 2025}\n",
            "cfg.yaml: github.target.name: 'bad name' is not a GitHub account name",
        ),
        (
            "github:\n  target: {mode: org, name: 42}\n  windows: {year: 2025}\n",
            "cfg.yaml: github.target.name: must be a non-empty string, got 42 (a number)",
        ),
        (
            MINIMAL.replace("windows:", "api_url: ftp://x\n  windows:"),
            "cfg.yaml: github.api_url: 'ftp://x' must be an http(s) URL like https://api.github.com",
        ),
        (
            MINIMAL.replace("windows:", "api_url: 'https://x/api?a=1'\n  windows:"),
            "cfg.yaml: github.api_url: must not carry a query or fragment",
        ),
        (
            MINIMAL.replace("windows:", "auth: {token_env: ghp_abc-123}\n  windows:"),
            "cfg.yaml: github.auth.token_env: 'ghp_abc-123' is not an environment variable name",
        ),
        (
            MINIMAL.replace("windows:", "discovery: {include_forks: 'yes'}\n  windows:"),
            "cfg.yaml: github.discovery.include_forks: must be true or false, got 'yes' (a string)",
        ),
        (
            MINIMAL.replace("windows:", "discovery: {visibility: publik}\n  windows:"),
            "cfg.yaml: github.discovery.visibility: must be one of all | public | private, "
            "got 'publik' — did you mean 'public'?",
        ),
        (
            MINIMAL + "rate_limit: {max_concurrency: '4'}\n",
            "cfg.yaml: rate_limit.max_concurrency: must be a whole number, got '4' (a string)",
        ),
        (
            MINIMAL + "rate_limit: {max_concurrency: 2.5}\n",
            "cfg.yaml: rate_limit.max_concurrency: must be a whole number, got 2.5 (a number)",
        ),
        (
            MINIMAL + "rate_limit: {max_concurrency: true}\n",
            "cfg.yaml: rate_limit.max_concurrency: must be a whole number, got true (a boolean)",
        ),
        (
            MINIMAL + "rate_limit: {max_concurrency: 0}\n",
            "cfg.yaml: rate_limit.max_concurrency: must be between 1 and 64, got 0",
        ),
        (
            MINIMAL + "rate_limit: {backoff_base_seconds: fast}\n",
            "cfg.yaml: rate_limit.backoff_base_seconds: must be a number, got 'fast' (a string)",
        ),
        (
            MINIMAL + "collection: {enable: {pulls: 1}}\n",
            "cfg.yaml: collection.enable.pulls: must be true or false, got 1 (a number)",
        ),
        (
            MINIMAL
            + "collection: {enable: {pulls: false, issues: false, reviews: false,"
            + " comments: false, commits: false}}\n",
            "cfg.yaml: collection.enable: every endpoint is switched off — enable at least one",
        ),
        (
            MINIMAL + "storage: {root: ''}\n",
            "cfg.yaml: storage.root: must be a non-empty string, got '' (a string)",
        ),
        (
            "github:\n  target: {mode: org, name: acme}\n  windows: {year: 1999}\n",
            "cfg.yaml: github.windows.year: must be between 2008 and 2100, got 1999",
        ),
        (
            "github:\n  target: {mode: org, name: acme}\n  windows: {}\n",
            "cfg.yaml: github.windows.year: is required (or give github.windows.since)",
        ),
        (
            "github: {target: {mode: org, name: acme}, windows: {year: 2025}}\n  bad: [\n",
            "cfg.yaml: not valid YAML (line 2, column 3)",
        ),
    ],
)
def test_bad_values_name_the_file_and_key(text: str, expected: str) -> None:
    assert error_of(text).startswith(expected)


def test_ignored_sections_accept_any_shape() -> None:
    config = parse(MINIMAL + "report: [anything]\nrate_limit: {burst: 3, strategy: fixed}\n")
    assert config.github.target.name == "acme"


# --- the window, in UTC ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("2025-03-01", datetime(2025, 3, 1, tzinfo=UTC)),  # YAML date
        ("'2025-03-01'", datetime(2025, 3, 1, tzinfo=UTC)),  # string date
        ("2025-03-01T10:30:00", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),  # naive → UTC
        ("'2025-03-01T10:30:00Z'", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),
        ("2025-03-01T10:30:00Z", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),  # YAML timestamp
        ("'2025-03-01T12:30:00+02:00'", datetime(2025, 3, 1, 10, 30, tzinfo=UTC)),
        ("2025-03-01 12:30:00-02:00", datetime(2025, 3, 1, 14, 30, tzinfo=UTC)),
    ],
)
def test_since_with_or_without_time_or_zone_is_normalized_to_utc(
    since: str, expected: datetime
) -> None:
    window = parse(with_window(since=since)).github.windows
    assert window.since == expected
    assert window.since.utcoffset() is not None
    assert window.since.tzinfo == UTC
    assert window.until == datetime(2026, 1, 1, tzinfo=UTC)


def test_until_is_normalized_too() -> None:
    window = parse(with_window(until="'2025-06-30T23:00:00-01:00'")).github.windows
    assert window.until == datetime(2025, 7, 1, tzinfo=UTC)


def test_year_comes_from_since_when_omitted() -> None:
    window = parse(with_window(since="2024-05-01", year=None)).github.windows
    assert window.year == 2024
    assert window.until == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until"),
    [("2025-06-01", "2025-06-01"), ("2025-06-02", "2025-06-01")],
)
def test_since_must_be_before_until(since: str, until: str) -> None:
    assert error_of(with_window(since=since, until=until)) == (
        f"cfg.yaml: github.windows: since ({since}T00:00:00Z) "
        f"must be before until ({until}T00:00:00Z)"
    )


@pytest.mark.parametrize("value", ["'next tuesday'", "'2025-13-01'", "[2025]", "20250101"])
def test_a_window_bound_that_is_not_a_date_is_an_error(value: str) -> None:
    assert error_of(with_window(since=value)).startswith("cfg.yaml: github.windows.since: ")


# --- the window: the year it names, and the years it may span ---------------------------------


def test_a_fiscal_window_that_overlaps_the_year_is_accepted() -> None:
    window = parse(with_window(since="2024-07-01", until="2025-07-01", year="2025")).github.windows
    assert (window.year, window.since, window.until) == (
        2025,
        datetime(2024, 7, 1, tzinfo=UTC),
        datetime(2025, 7, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("since", "until", "year", "offender", "moment"),
    [
        ("2025-01-01", "2025-06-01", "2024", "since", "2025-01-01T00:00:00Z"),
        ("'2025-01-01T00:30:00+01:00'", None, "2025", None, None),  # 2024-12-31T23:30Z: overlaps
        ("'2025-01-01T00:30:00-01:00'", None, "2024", "since", "2025-01-01T01:30:00Z"),
        ("2025-03-01", None, "2024", "since", "2025-03-01T00:00:00Z"),
        ("2024-01-01", "2025-01-01", "2025", "until", "2025-01-01T00:00:00Z"),
        (None, "2024-06-01", "2025", "until", "2024-06-01T00:00:00Z"),
    ],
)
def test_a_year_the_window_misses_names_both_keys(
    since: str | None, until: str | None, year: str, offender: str | None, moment: str | None
) -> None:
    text = with_window(since=since, until=until, year=year)
    if offender is None:
        assert parse(text).github.windows.year == int(year)
        return
    assert error_of(text) == (
        f"cfg.yaml: github.windows.year: {year} contradicts github.windows.{offender} ({moment}) "
        "— the window must overlap the year; fix one of them"
    )


@pytest.mark.parametrize(
    ("since", "until", "year", "expected"),
    [
        (
            "9999-06-01",
            None,
            None,
            "github.windows.since: must be between 2008 and 2100, got 9999-06-01",
        ),
        (
            "'0001-01-01T00:00:00+01:00'",
            None,
            None,
            "github.windows.since: must be between 2008 and 2100, got 0001-01-01T00:00:00+01:00",
        ),
        (
            "9999-12-31T23:00:00-05:00",
            None,
            None,
            "github.windows.since: must be between 2008 and 2100, got 9999-12-31T23:00:00-05:00",
        ),
        (
            "2007-12-31",
            None,
            None,
            "github.windows.since: must be between 2008 and 2100, got 2007-12-31",
        ),
        (
            "2101-01-01",
            None,
            None,
            "github.windows.since: must be between 2008 and 2100, got 2101-01-01",
        ),
        (
            None,
            "2008-01-01",
            "2025",
            "github.windows.until: must be between 2008 and 2100, got 2008-01-01",
        ),
        (
            None,
            "2101-01-02",
            "2025",
            "github.windows.until: must be between 2008 and 2100, got 2101-01-02",
        ),
        (
            "2025-01-01",
            "'9999-12-31T23:59:59-01:00'",
            None,
            "github.windows.until: must be between 2008 and 2100, got 9999-12-31T23:59:59-01:00",
        ),
    ],
)
def test_window_bounds_must_lie_in_2008_to_2100(
    since: str | None, until: str | None, year: str | None, expected: str
) -> None:
    assert error_of(with_window(since=since, until=until, year=year)) == f"cfg.yaml: {expected}"


@pytest.mark.parametrize(
    ("since", "until", "year"),
    [
        ("2008-01-01", None, None),
        (None, None, "2100"),
        ("2100-06-01", None, None),
        ("2100-06-01", "2101-01-01", None),
        ("'2101-01-01T00:30:00+01:00'", None, None),  # 2100-12-31T23:30Z
    ],
)
def test_the_edges_of_2008_to_2100_are_accepted(
    since: str | None, until: str | None, year: str | None
) -> None:
    window = parse(with_window(since=since, until=until, year=year)).github.windows
    assert 2008 <= window.year <= 2100
    assert window.since < window.until <= datetime(2101, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("since", "2025-02-30", "github.windows.since: '2025-02-30' is not a date"),
        ("since", "2025-01-01T25:00:00Z", "github.windows.since: '2025-01-01T25:00:00Z' is not a"),
        ("until", "2025-13-01", "github.windows.until: '2025-13-01' is not a date"),
        ("year", "0000-01-01", "github.windows.year: must be a whole number, got '0000-01-01'"),
    ],
)
def test_an_unquoted_date_no_calendar_has_names_its_key(
    key: str, value: str, expected: str
) -> None:
    # PyYAML itself used to raise ValueError("day is out of range for month") while loading.
    text = f"github:\n  target: {{mode: org, name: acme}}\n  windows: {{{key}: {value}}}\n"
    assert error_of(text).startswith(f"cfg.yaml: {expected}")


def test_yaml_nested_too_deeply_is_an_error() -> None:
    assert error_of("[" * 5000 + "]" * 5000) == "cfg.yaml: not valid YAML: nested too deeply"


# --- api_url and storage.root that used to crash ---------------------------------------------

URL_LINE = "must be an http(s) URL like https://api.github.com"
PORT_LINE = f"{URL_LINE} — its port must be a number from 1 to 65535"
JUNK_LINE = f"{URL_LINE} — it holds a space or a control character"


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("'http://[::1'", f"'http://[::1' {URL_LINE}"),
        ("'http://'", f"'http://' {URL_LINE}"),
        ("'https://api.github.com:99999'", f"'https://api.github.com:99999' {PORT_LINE}"),
        ("'https://api.github.com:0'", f"'https://api.github.com:0' {PORT_LINE}"),
        ("'https://api.github.com:x'", f"'https://api.github.com:x' {PORT_LINE}"),
        ("'https://api github.com'", JUNK_LINE),
        ('"https://api\\tgithub.com"', JUNK_LINE),
        ('"https://api\\0github.com"', JUNK_LINE),
    ],
)
def test_an_unreadable_api_url_is_one_error(api_url: str, expected: str) -> None:
    text = MINIMAL.replace("windows:", f"api_url: {api_url}\n  windows:")
    assert error_of(text) == f"cfg.yaml: github.api_url: {expected}"


@pytest.mark.parametrize(
    "api_url",
    ["'http://u:s3cret@[::1'", "'https://s3cret@host:99999'", "'http:s3cret@host'"],
)
def test_credentials_in_an_unreadable_api_url_are_never_echoed(api_url: str) -> None:
    message = error_of(MINIMAL.replace("windows:", f"api_url: {api_url}\n  windows:"))
    assert message.startswith("cfg.yaml: github.api_url: must not carry credentials")
    assert "s3cret" not in message


def test_valid_api_urls_still_load() -> None:
    for url in ("http://[::1]:8080/api", "https://ghe.example.com:8443/api/v3", "http://h:"):
        text = MINIMAL.replace("windows:", f"api_url: '{url}'\n  windows:")
        assert parse(text).github.api_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("root", "expected"),
    [
        ('"da\\0ta"', "storage.root: must not contain a NUL character"),
        (
            "'~ghye-no-such-user-0123/x'",
            "storage.root: '~ghye-no-such-user-0123/x' names a home folder that cannot be found "
            "— write the full path",
        ),
    ],
)
def test_an_unusable_storage_root_is_one_error(root: str, expected: str) -> None:
    assert error_of(MINIMAL + f"storage: {{root: {root}}}\n") == f"cfg.yaml: {expected}"


# --- the dataset digest ----------------------------------------------------------------------


def test_digest_ignores_rate_limit_and_storage(tmp_path: Path) -> None:
    base = parse(MINIMAL, tmp_path)
    tuned = parse(
        MINIMAL + "rate_limit: {max_concurrency: 16, max_retries: 0, points_per_minute: 10}\n"
        "storage: {root: elsewhere}\n",
        tmp_path,
    )
    assert base.digest == tuned.digest
    assert base.digest == dataset_digest(base.dataset_keys())


@pytest.mark.parametrize(
    "change",
    [
        MINIMAL.replace("acme", "other"),
        MINIMAL.replace("year: 2025", "year: 2024"),
        MINIMAL.replace("mode: org", "mode: user"),
        MINIMAL + "collection: {enable: {commits: false}}\n",
        MINIMAL.replace("windows:", "discovery: {include_forks: true}\n  windows:"),
        MINIMAL.replace("windows:", "api_url: https://ghe.example.com/api/v3\n  windows:"),
    ],
)
def test_digest_changes_with_dataset_keys(change: str) -> None:
    assert parse(MINIMAL).digest != parse(change).digest


def test_equivalent_window_spellings_share_a_digest() -> None:
    a = parse(with_window(since="2025-01-01", until="2026-01-01"))
    b = parse(with_window(since="'2025-01-01T01:00:00+01:00'"))
    assert a.digest == b.digest == parse(MINIMAL).digest


def test_dataset_keys_are_iso_utc_strings() -> None:
    keys = parse(MINIMAL).dataset_keys()
    assert keys["github.windows.since"] == "2025-01-01T00:00:00Z"
    assert keys["github.windows.until"] == "2026-01-01T00:00:00Z"
    assert keys["collection.enable.comments"] is True


# --- load_config -----------------------------------------------------------------------------


def test_load_config_records_its_source_and_resolves_root_from_cwd(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    config = load_config(path, cwd=tmp_path / "work")
    assert config.source == path
    assert config.storage.root == tmp_path / "work" / "data"


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == (
        f"config file {tmp_path / 'nope.yaml'} not found — "
        "copy config/config.example.yaml there and edit it"
    )


def test_load_config_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigNotFound, match="is a folder, not a YAML file"):
        load_config(tmp_path)


def test_load_config_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigInvalid, match="not a text file"):
        load_config(path)


def test_load_config_errors_name_the_path(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL + "extra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: extra: unknown key")


def test_load_config_refuses_a_fifo_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    # open() would block for ever with no writer: if load_config ever opens the FIFO again, this
    # timer plays a writer that closes at once, so the test fails (wrong error) instead of hanging.
    guard = threading.Timer(5, _write_nothing_to, args=(fifo,))
    guard.start()
    try:
        with pytest.raises(ConfigNotFound) as info:
            load_config(fifo)
    finally:
        guard.cancel()
    assert str(info.value) == (
        f"config path {fifo} is not a regular file (a named pipe) — pass the YAML file itself"
    )


def _write_nothing_to(fifo: Path) -> None:
    with contextlib.suppress(OSError):  # ENXIO: nobody has it open for reading
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def test_load_config_refuses_a_device_without_reading_it() -> None:
    # /dev/null rather than /dev/zero: a regression reads "" here instead of reading for ever
    # (tests/test_config_inputs.py runs /dev/zero in a subprocess with a timeout).
    with pytest.raises(ConfigNotFound) as info:
        load_config(Path("/dev/null"))
    assert str(info.value) == (
        "config path /dev/null is not a regular file (a character device) — "
        "pass the YAML file itself"
    )


def test_load_config_refuses_a_file_over_1_mib(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL + "#" * (1024 * 1024), encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_config(path)
    assert str(info.value) == f"config file {path} is larger than 1 MiB — is it the right file?"


def test_load_config_accepts_a_file_of_exactly_1_mib_and_a_symlink(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(MINIMAL + "#" * (1024 * 1024 - len(MINIMAL)), encoding="utf-8")
    assert path.stat().st_size == 1024 * 1024
    link = tmp_path / "link.yaml"
    link.symlink_to(path)
    assert load_config(link).github.target.name == "acme"


def test_load_config_refuses_a_nul_in_the_path() -> None:
    with pytest.raises(ConfigNotFound, match="must not contain a NUL character"):
        load_config(Path("conf\0ig.yaml"))


def test_every_collection_switch_of_the_endpoint_table_is_a_config_key() -> None:
    from dataclasses import fields

    from gh_year_end.config.model import EnableConfig
    from gh_year_end.config.reader import SCHEMA
    from gh_year_end.endpoints import SWITCHES

    assert {f.name for f in fields(EnableConfig)} == set(SWITCHES)
    accepted = {k for k, v in SCHEMA["collection"]["enable"].items() if v is None}
    assert accepted == set(SWITCHES)
