"""Config inputs that used to crash, hang or silently mislead, through the real command line.

Each one ends with exit 2, exactly one stderr line naming the file and the key (its exact text),
no traceback, and nothing created next to the config: no data folder. Most run the Typer app in
process (CliRunner with a Runtime, as tests/test_bad_input.py does); the config paths that used
to block for ever (/dev/zero, a FIFO) run ``ghye`` as a subprocess with a timeout, so a
regression fails instead of hanging the suite.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from typer.testing import CliRunner

from gh_year_end.cli import Runtime, app
from harness import TEST_TOKEN, TOKEN_ENV, config_text, run_ghye, unused_port

ENV = {TOKEN_ENV: TEST_TOKEN}
URL_LINE = "must be an http(s) URL like https://api.github.com"


@dataclass(frozen=True)
class Ran:
    """One command's outcome."""

    code: int
    stdout: str
    stderr: str


def cli(args: Sequence[str], *, cwd: Path, environ: Mapping[str, str] = ENV) -> Ran:
    """The real ghye app in process: real collector, the environment given, no terminal."""
    runtime = Runtime(environ=dict(environ), cwd=cwd, install_signals=False)
    result = CliRunner().invoke(app, list(args), obj=runtime, prog_name="ghye")
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        trace = "".join(traceback.format_exception(exc))
        pytest.fail(f"ghye {' '.join(args)} let an exception escape:\n{trace}")
    return Ran(result.exit_code, result.stdout, result.stderr)


def assert_refused(ran: Ran, code: int, line: str) -> None:
    """Exit ``code``, no traceback, and exactly one stderr line: ``line``."""
    assert "Traceback" not in ran.stdout + ran.stderr, ran.stderr
    assert ran.code == code, ran
    lines = [text for text in ran.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, ran.stderr
    assert lines[0] == line


def write(folder: Path, **changes: Any) -> Path:
    """harness.config_text (data under ``folder/data``, a loopback API nothing answers on), with
    ``changes`` applied — ``windows={...}``, ``api_url=...``, ``root=...`` — written as YAML, so
    a ``date`` value is a YAML date and a string one is quoted."""
    doc: dict[str, Any] = orjson.loads(
        config_text(f"http://127.0.0.1:{unused_port()}", folder / "data")
    )
    if "windows" in changes:
        doc["github"]["windows"] = changes["windows"]
    if "api_url" in changes:
        doc["github"]["api_url"] = changes["api_url"]
    if "root" in changes:
        doc["storage"]["root"] = changes["root"]
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=False), encoding="utf-8")
    return path


def refused_collect(
    folder: Path, config: Path, line: str, environ: Mapping[str, str] = ENV
) -> None:
    """``ghye collect --config config`` is refused with ``line`` and creates nothing."""
    before = sorted(os.listdir(folder))
    ran = cli(["collect", "--config", str(config)], cwd=folder, environ=environ)
    assert_refused(ran, 2, f"error: {config}: {line}")
    assert not (folder / "data").exists()
    assert sorted(os.listdir(folder)) == before


# --- 1. a year that contradicts since/until ------------------------------------------------------


@pytest.mark.parametrize(
    ("windows", "line"),
    [
        (
            {"year": 2024, "since": date(2025, 1, 1), "until": date(2025, 6, 1)},
            "github.windows.year: 2024 contradicts github.windows.since (2025-01-01T00:00:00Z) — "
            "the window must overlap the year; fix one of them",
        ),
        (
            {"year": 2024, "since": "2025-03-01T00:00:00Z"},
            "github.windows.year: 2024 contradicts github.windows.since (2025-03-01T00:00:00Z) — "
            "the window must overlap the year; fix one of them",
        ),
        (
            {"year": 2026, "since": date(2025, 1, 1), "until": date(2025, 6, 1)},
            "github.windows.year: 2026 contradicts github.windows.until (2025-06-01T00:00:00Z) — "
            "the window must overlap the year; fix one of them",
        ),
        (
            {"year": 2026, "until": date(2026, 1, 1)},
            "github.windows.year: 2026 contradicts github.windows.until (2026-01-01T00:00:00Z) — "
            "the window must overlap the year; fix one of them",
        ),
    ],
)
def test_a_year_the_window_does_not_overlap_is_refused_naming_both_keys(
    tmp_path: Path, windows: dict[str, Any], line: str
) -> None:
    refused_collect(tmp_path, write(tmp_path, windows=windows), line)


# --- 2, 3. window bounds outside 2008..2100 --------------------------------------------------


@pytest.mark.parametrize(
    ("windows", "line"),
    [
        (
            {"since": date(9999, 6, 1)},
            "github.windows.since: must be between 2008 and 2100, got 9999-06-01",
        ),
        (
            {"since": "0001-01-01T00:00:00+01:00"},
            "github.windows.since: must be between 2008 and 2100, got 0001-01-01T00:00:00+01:00",
        ),
        (
            {"year": 2025, "until": "9999-12-31T23:59:59-01:00"},
            "github.windows.until: must be between 2008 and 2100, got 9999-12-31T23:59:59-01:00",
        ),
        (
            {"year": 2025, "until": date(2001, 1, 1)},
            "github.windows.until: must be between 2008 and 2100, got 2001-01-01",
        ),
        (
            {"since": date(2000, 1, 1), "until": date(2001, 1, 1)},
            "github.windows.since: must be between 2008 and 2100, got 2000-01-01",
        ),
        (
            {"since": date(2101, 1, 1)},
            "github.windows.since: must be between 2008 and 2100, got 2101-01-01",
        ),
    ],
)
def test_a_window_bound_outside_2008_to_2100_is_refused(
    tmp_path: Path, windows: dict[str, Any], line: str
) -> None:
    refused_collect(tmp_path, write(tmp_path, windows=windows), line)


# --- 4. api_url that urlsplit cannot read -----------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "line"),
    [
        ("http://[::1", f"github.api_url: 'http://[::1' {URL_LINE}"),
        ("http://", f"github.api_url: 'http://' {URL_LINE}"),
        (
            "https://api.github.com:99999",
            f"github.api_url: 'https://api.github.com:99999' {URL_LINE} — "
            "its port must be a number from 1 to 65535",
        ),
        (
            "https://api.github.com:0",
            f"github.api_url: 'https://api.github.com:0' {URL_LINE} — "
            "its port must be a number from 1 to 65535",
        ),
        (
            "https://api.github.com:https",
            f"github.api_url: 'https://api.github.com:https' {URL_LINE} — "
            "its port must be a number from 1 to 65535",
        ),
        (
            "https://api github.com",
            f"github.api_url: {URL_LINE} — it holds a space or a control character",
        ),
        (
            "https://api\x00.github.com",
            f"github.api_url: {URL_LINE} — it holds a space or a control character",
        ),
    ],
)
def test_an_unreadable_api_url_is_refused(tmp_path: Path, api_url: str, line: str) -> None:
    refused_collect(tmp_path, write(tmp_path, api_url=api_url), line)


@pytest.mark.parametrize(
    "api_url",
    ["http://user:s3cret-token@[::1", "https://s3cret-token@h:99999", "http:s3cret-token@host"],
)
def test_an_unreadable_api_url_with_credentials_never_echoes_them(
    tmp_path: Path, api_url: str
) -> None:
    config = write(tmp_path, api_url=api_url)
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert_refused(
        ran,
        2,
        f"error: {config}: github.api_url: must not carry credentials (user:token@) — put the "
        "token in the environment variable named by github.auth.token_env",
    )
    assert "s3cret" not in ran.stdout + ran.stderr


# --- 5. storage.root ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("root", "line"),
    [
        ("da\x00ta", "storage.root: must not contain a NUL character"),
        ("", "storage.root: must be a non-empty string, got '' (a string)"),
        (
            "~ghye-no-such-user-0123/data",
            "storage.root: '~ghye-no-such-user-0123/data' names a home folder that cannot be "
            "found — write the full path",
        ),
    ],
)
def test_an_unusable_storage_root_is_refused(tmp_path: Path, root: str, line: str) -> None:
    refused_collect(tmp_path, write(tmp_path, root=root), line)


# --- neighbours: wrong types and impossible dates ---------------------------------------------


@pytest.mark.parametrize(
    ("windows", "line"),
    [
        ({"year": 2025.5}, "github.windows.year: must be a whole number, got 2025.5 (a number)"),
        (
            {"since": 2025},
            "github.windows.since: must be a date like 2025-01-01, got 2025 (a number)",
        ),
        (
            {"year": 2025, "since": "2025-02-30"},
            "github.windows.since: '2025-02-30' is not a date — "
            "use 2025-01-01 or 2025-01-01T00:00:00Z",
        ),
    ],
)
def test_a_window_of_the_wrong_type_is_refused(
    tmp_path: Path, windows: dict[str, Any], line: str
) -> None:
    refused_collect(tmp_path, write(tmp_path, windows=windows), line)


def test_a_yaml_date_no_calendar_has_names_its_key(tmp_path: Path) -> None:
    # Unquoted, PyYAML itself raised ValueError("day is out of range for month") while loading.
    config = write(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8").replace("year: 2025", "since: 2025-02-30"),
        encoding="utf-8",
    )
    refused_collect(
        tmp_path,
        config,
        "github.windows.since: '2025-02-30' is not a date — use 2025-01-01 or 2025-01-01T00:00:00Z",
    )


def test_yaml_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    refused_collect(tmp_path, config, "not valid YAML: nested too deeply")


def test_ghye_config_with_an_unknown_home_folder_is_refused(tmp_path: Path) -> None:
    environ = {**ENV, "GHYE_CONFIG": "~ghye-no-such-user-0123/config.yaml"}
    ran = cli(["collect"], cwd=tmp_path, environ=environ)
    assert_refused(
        ran,
        2,
        "error: $GHYE_CONFIG is '~ghye-no-such-user-0123/config.yaml', whose home folder cannot "
        "be found — set it to the full path of the YAML file",
    )
    assert os.listdir(tmp_path) == []


# --- 6. the config path is not a regular file ------------------------------------------------


def test_dev_zero_as_config_is_refused_without_reading_it(tmp_path: Path) -> None:
    done = run_ghye(["collect", "--config", "/dev/zero"], timeout=20, cwd=tmp_path)
    assert_refused(
        Ran(done.returncode, done.stdout, done.stderr),
        2,
        "error: config path /dev/zero is not a regular file (a character device) — "
        "pass the YAML file itself",
    )
    assert os.listdir(tmp_path) == []


def test_a_fifo_as_config_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    done = run_ghye(["collect", "--config", str(fifo)], timeout=20, cwd=tmp_path)
    assert_refused(
        Ran(done.returncode, done.stdout, done.stderr),
        2,
        f"error: config path {fifo} is not a regular file (a named pipe) — "
        "pass the YAML file itself",
    )
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_a_config_file_over_1_mib_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path)  # a valid config, padded with a comment past 1 MiB
    with config.open("a", encoding="utf-8") as file:
        file.write("# " + "x" * (1024 * 1024) + "\n")
    before = sorted(os.listdir(tmp_path))
    ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert_refused(
        ran, 2, f"error: config file {config} is larger than 1 MiB — is it the right file?"
    )
    assert sorted(os.listdir(tmp_path)) == before


def test_a_missing_config_and_a_folder_keep_their_messages(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert_refused(
        cli(["collect", "--config", str(missing)], cwd=tmp_path),
        2,
        f"error: config file {missing} not found — copy config/config.example.yaml there and "
        "edit it",
    )
    # (--config FOLDER is refused by the option itself; $GHYE_CONFIG reaches load_config.)
    assert_refused(
        cli(["collect"], cwd=tmp_path, environ={**ENV, "GHYE_CONFIG": str(tmp_path)}),
        2,
        f"error: config path {tmp_path} is a folder, not a YAML file",
    )
    assert os.listdir(tmp_path) == []
