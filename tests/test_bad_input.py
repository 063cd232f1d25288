"""Bad input through the real command line: each case ends with its documented exit code, one
clear line on stderr (its exact text), no traceback, and nothing already collected lost.

Most cases run the Typer app in process (CliRunner, with the real collector and a Runtime —
quicker than a process and the same code path); the ones about processes (a lock held by
another process) run `ghye` as a subprocess. Disk full and a read-only data folder are real:
a tiny tmpfs (mounting needs root; skipped otherwise), and always a JSONL file that is a
symlink to /dev/full (the kernel's ENOSPC), and a storage.root under a regular file (mkdir
fails with ENOTDIR even for root, where chmod would not stop a write).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from gh_year_end.cli import Runtime, app
from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.storage.lock import RunLock
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    TOKEN_ENV,
    UNTIL,
    checkpoint_problems,
    compare_with_expected,
    config_text,
    read_dataset,
    run_ghye,
    snapshot_files,
    target_dir,
    unused_port,
    write_config,
)

ENV = {TOKEN_ENV: TEST_TOKEN}
# commits take two pages per repo, so a unit can stop between them.
SETTINGS = FakeSettings(
    repos=3, pulls=10, issues=10, issue_comments=20, review_comments=10, commits=300,
    reviews_per_pull=0.5, forks=(), archived=(), token=TEST_TOKEN,
)  # fmt: skip
STOPPED_REPO = "acme/repo-000"
STOPPED_ENDPOINT = "commits"


# --- running the command line ----------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """One command's outcome."""

    code: int
    stdout: str
    stderr: str


def cli(args: Sequence[str], *, cwd: Path, environ: Mapping[str, str] = ENV) -> Ran:
    """The real ghye app in process: real collector, real environment given, no terminal."""
    runtime = Runtime(environ=dict(environ), cwd=cwd, install_signals=False)
    result = CliRunner().invoke(app, list(args), obj=runtime, prog_name="ghye")
    exc = result.exception
    if exc is not None and not isinstance(exc, SystemExit):
        trace = "".join(traceback.format_exception(exc))
        pytest.fail(f"ghye {' '.join(args)} let an exception escape:\n{trace}")
    return Ran(result.exit_code, result.stdout, result.stderr)


def process(args: Sequence[str], *, env: Mapping[str, str] | None = None) -> Ran:
    """ghye as a subprocess."""
    done = run_ghye(args, env=env)
    return Ran(done.returncode, done.stdout, done.stderr)


def assert_refused(ran: Ran, code: int, line: str | re.Pattern[str]) -> None:
    """Exit ``code``, no traceback, and exactly one stderr line: ``line`` (or matching it)."""
    assert "Traceback" not in ran.stdout + ran.stderr, ran.stderr
    assert ran.code == code, ran
    lines = [text for text in ran.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, ran.stderr
    if isinstance(line, str):
        assert lines[0] == line
    else:
        assert line.fullmatch(lines[0]), lines[0]


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def complete(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with config.yaml and a finished collection under data/."""
    folder = tmp_path_factory.mktemp("complete")
    config = write_config(folder, fake.base_url)
    assert cli(["collect", "--config", str(config)], cwd=folder).code == 0
    return folder


@pytest.fixture(scope="module")
def stopped(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collection whose acme/repo-000 commits stopped after page 1 (a retryable 500).

    Page 2 is the Link header's URL, which GitHub (and the fake) write as /repositories/<id>/….
    """
    folder = tmp_path_factory.mktemp("stopped")
    repo = httpx.get(
        fake.url(f"/repos/{STOPPED_REPO}"), headers={"Authorization": f"Bearer {TEST_TOKEN}"}
    ).json()
    fake.inject("500", match=f"/repositories/{repo['id']}/commits", times=1)
    config = write_config(folder, fake.base_url, extra_rate_limit={"max_retries": 0})
    assert cli(["collect", "--config", str(config)], cwd=folder).code == 3
    state = unit_state(target_dir(folder / "data"), STOPPED_REPO, STOPPED_ENDPOINT)
    assert state.status is CheckpointStatus.FAILED
    assert state.retryable
    assert state.offset > 0
    assert state.next_url
    return folder


def clone(source: Path, dest: Path, fake: FakeGitHub, **config: Any) -> tuple[Path, Path]:
    """Copy a collection to ``dest``; (its config path, its target folder)."""
    shutil.copytree(source / "data", dest / "data")
    return write_config(dest, fake.base_url, **config), target_dir(dest / "data")


def unit_state(folder: Path, repo: str, endpoint: str) -> Any:
    view = CheckpointManager.read_only(folder / "checkpoint.json", folder / "checkpoint.journal")
    return view.get_endpoint(repo, endpoint)


def expected_problems(fake: FakeGitHub, folder: Path) -> list[str]:
    return compare_with_expected(read_dataset(folder), fake.expected(SINCE, UNTIL)) + (
        checkpoint_problems(folder, final=True)
    )


def jsonl_files(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot_files(folder).items() if k.endswith(".jsonl")}


# --- configuration ---------------------------------------------------------------------------


def test_a_missing_config_file_is_named_with_where_to_start(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert_refused(
        cli(["collect", "--config", str(missing)], cwd=tmp_path),
        2,
        f"error: config file {missing} not found — copy config/config.example.yaml there and "
        "edit it",
    )


def test_no_config_anywhere_lists_every_place_looked(tmp_path: Path) -> None:
    assert_refused(
        cli(["collect"], cwd=tmp_path),
        2,
        "error: no config file found — looked at --config (not given), $GHYE_CONFIG (not set), "
        f"./config.yaml, ./config/config.yaml in {tmp_path}; copy config/config.example.yaml "
        "to ./config.yaml, or pass --config PATH",
    )


def test_an_empty_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("", encoding="utf-8")
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: {config}: the file is empty — start from config/config.example.yaml",
    )


def test_invalid_yaml_is_refused_with_its_line_and_column(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("github: [unclosed\n  x: 1\n", encoding="utf-8")
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: {config}: not valid YAML (line 2, column 4): expected ',' or ']', but got ':'",
    )


@pytest.mark.parametrize(
    ("wrong", "right", "line"),
    [
        ('"storage"', '"storag"',
         "storag: unknown key — did you mean 'storage'? "
         "(known here: github, rate_limit, collection, storage)"),
        ('"name": "acme"', '"nmae": "acme"',
         "github.target.nmae: unknown key — did you mean 'github.target.name'? "
         "(known here: mode, name)"),
    ],
    ids=["top-level", "nested"],
)  # fmt: skip
def test_an_unknown_key_is_refused_with_a_did_you_mean(
    tmp_path: Path, wrong: str, right: str, line: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(config_text("http://127.0.0.1:9", tmp_path).replace(wrong, right))
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path), 2, f"error: {config}: {line}"
    )


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (('"max_concurrency": 4', '"max_concurrency": "four"'),
         "rate_limit.max_concurrency: must be a whole number, got 'four' (a string)"),
        (('"year": 2025', '"year": 2025, "since": "2025-13-45"'),
         "github.windows.since: '2025-13-45' is not a date — use 2025-01-01 or "
         "2025-01-01T00:00:00Z"),
        (('"year": 2025', '"year": 2025, "since": "2025-06-01", "until": "2025-03-01"'),
         "github.windows: since (2025-06-01T00:00:00Z) must be before until "
         "(2025-03-01T00:00:00Z)"),
        (('"mode": "org"', '"mode": "orgs"'),
         "github.target.mode: must be one of org | user, got 'orgs' — did you mean 'org'?"),
    ],
    ids=["wrong-type", "bad-date", "since-after-until", "unknown-target-mode"],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_key(
    tmp_path: Path, edit: tuple[str, str], line: str
) -> None:
    config = tmp_path / "config.yaml"
    text = config_text("http://127.0.0.1:9", tmp_path / "data")
    assert edit[0] in text
    config.write_text(text.replace(*edit), encoding="utf-8")
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path), 2, f"error: {config}: {line}"
    )
    assert not (tmp_path / "data").exists()


# --- GitHub refuses or cannot be reached -----------------------------------------------------


def test_an_unset_token_variable_fails_before_any_request_or_file(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = write_config(tmp_path, fake.base_url)
    before = fake.stats()["requests"]
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path, environ={}),
        5,
        f"error: no GitHub token: set {TOKEN_ENV} (the variable named by github.auth.token_env) "
        f"or GH_TOKEN — e.g. export {TOKEN_ENV}=…",
    )
    assert fake.stats()["requests"] == before
    assert not (tmp_path / "data").exists()


def test_a_rejected_token_exits_5_and_keeps_what_was_collected(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    before = jsonl_files(folder)
    assert_refused(
        cli(
            ["resume", "--config", str(config)],
            cwd=tmp_path,
            environ={TOKEN_ENV: "ghp_0000revoked0000token"},
        ),
        5,
        f"error: GitHub rejected the token (401 Bad credentials) — check {TOKEN_ENV}: it may be "
        "wrong, expired or revoked",
    )
    assert jsonl_files(folder) == before
    assert unit_state(folder, STOPPED_REPO, STOPPED_ENDPOINT).offset > 0


def test_an_unknown_org_is_a_configuration_error(tmp_path: Path, fake: FakeGitHub) -> None:
    config = write_config(tmp_path, fake.base_url, owner="nobody")
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: organization 'nobody' not found at {fake.base_url} (or the token cannot see "
        "it) — check github.target.name and github.target.mode, and for GitHub Enterprise "
        "Server that github.api_url ends with /api/v3",
    )


def test_an_unreachable_api_url_says_to_check_api_url_not_to_resume(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{unused_port()}"
    config = write_config(tmp_path, api, extra_rate_limit={"max_retries": 2})
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: could not reach {api}/orgs/acme (ConnectError: All connection attempts failed) "
        f"— gave up after 3 attempts — check github.api_url ({api}): its scheme, host and port, "
        "and for GitHub Enterprise Server the /api/v3 path; then run `ghye collect` again",
    )


# --- the checkpoint cannot be trusted --------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [lambda raw: raw[: len(raw) // 2], lambda _raw: b"\x00\xff\xfe garbage \x13\x37"],
    ids=["truncated", "garbage"],
)
def test_a_damaged_checkpoint_is_refused_and_nothing_is_touched(
    tmp_path: Path, fake: FakeGitHub, complete: Path, damage: Callable[[bytes], bytes]
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    checkpoint = folder / "checkpoint.json"
    checkpoint.write_bytes(damage(checkpoint.read_bytes()))
    before = snapshot_files(folder)
    for command in ("resume", "collect"):
        assert_refused(
            cli([command, "--config", str(config)], cwd=tmp_path),
            2,
            re.compile(
                rf"error: checkpoint {re.escape(str(checkpoint))} is damaged \(not valid JSON: "
                r".+\) — move it aside and run `ghye collect --force` to start over, or "
                r"restore it from a backup"
            ),
        )
    assert snapshot_files(folder) == before


def test_a_journal_with_garbage_before_its_last_line_is_refused_and_its_advice_works(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    journal = folder / "checkpoint.journal"
    kept = journal.read_bytes()
    garbage_line = len(kept.splitlines()) + 1
    journal.write_bytes(kept + b"this is not a commit\n{}\n")
    before = snapshot_files(folder)
    assert_refused(
        cli(["resume", "--config", str(config)], cwd=tmp_path),
        2,
        re.compile(
            rf"error: checkpoint journal {re.escape(str(journal))} is damaged at line "
            rf"{garbage_line} \(.+\) — move it aside to resume from the last snapshot "
            r"\(pages committed since are fetched again\), or restore it from a backup"
        ),
    )
    assert snapshot_files(folder) == before
    journal.rename(tmp_path / "journal.aside")
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


def test_a_checkpoint_from_a_newer_format_is_refused_and_reset_gets_past_it(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    checkpoint = folder / "checkpoint.json"
    data = orjson.loads(checkpoint.read_bytes())
    data["format_version"] = 99
    checkpoint.write_bytes(orjson.dumps(data))
    before = snapshot_files(folder)
    assert_refused(
        cli(["resume", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: checkpoint {checkpoint} was written by a newer ghye (format 99); upgrade ghye "
        "or run `ghye reset`",
    )
    assert snapshot_files(folder) == before
    # The advice works.
    assert cli(["reset", "--yes", "--config", str(config)], cwd=tmp_path).code == 0
    assert cli(["collect", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


def test_resume_without_a_checkpoint_says_to_collect_first(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    config = write_config(tmp_path, fake.base_url)
    assert_refused(
        cli(["resume", "--config", str(config)], cwd=tmp_path),
        2,
        f"error: no checkpoint for target acme at {target_dir(tmp_path / 'data')} — run "
        "`ghye collect` first",
    )


def test_a_changed_dataset_config_is_refused_naming_the_key(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake, discovery={"include_forks": True})
    before = jsonl_files(folder)
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        2,
        "error: the dataset-defining config changed since the checkpoint was made "
        "(github.discovery.include_forks) — run `ghye collect --force` to start over (this "
        "removes the target's earlier data)",
    )
    assert jsonl_files(folder) == before


# --- data files changed behind the checkpoint's back -----------------------------------------


def test_a_deleted_file_of_a_complete_unit_is_reported_and_reset_recollects_it(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    victim = folder / "commits" / "acme__repo-001.jsonl"
    size = victim.stat().st_size
    victim.unlink()
    before = snapshot_files(folder)
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: {victim} is missing but the checkpoint says it holds {size} bytes — it was "
        "changed outside ghye; run `ghye reset --repo acme/repo-001 --endpoint commits` to "
        "collect that unit again",
    )
    assert jsonl_files(folder) == {k: v for k, v in before.items() if k.endswith(".jsonl")}
    assert not victim.exists()
    # The advice works, and only that unit is collected again.
    reset = ["reset", "--repo", "acme/repo-001", "--endpoint", "commits", "--yes"]
    assert cli([*reset, "--config", str(config)], cwd=tmp_path).code == 0
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    after = jsonl_files(folder)
    assert {k: v for k, v in after.items() if k != "commits/acme__repo-001.jsonl"} == {
        k: v for k, v in before.items() if k.endswith(".jsonl")
    }
    assert expected_problems(fake, folder) == []


def test_a_deleted_file_of_an_unfinished_unit_is_reported_and_reset_recollects_it(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    victim = folder / STOPPED_ENDPOINT / "acme__repo-000.jsonl"
    size = unit_state(folder, STOPPED_REPO, STOPPED_ENDPOINT).offset
    victim.unlink()
    others = jsonl_files(folder)
    line = (
        f"error: {victim} is missing but the checkpoint says it holds {size} bytes — it was "
        f"changed outside ghye; run `ghye reset --repo {STOPPED_REPO} --endpoint "
        f"{STOPPED_ENDPOINT}` to collect that unit again"
    )
    ran = cli(["resume", "--config", str(config)], cwd=tmp_path)
    assert_refused(ran, 3, line)
    assert jsonl_files(folder) == others
    assert not victim.exists()  # not silently started again from an empty file
    state = unit_state(folder, STOPPED_REPO, STOPPED_ENDPOINT)
    assert state.status is CheckpointStatus.FAILED
    assert state.offset == size
    reset = ["reset", "--repo", STOPPED_REPO, "--endpoint", STOPPED_ENDPOINT, "--yes"]
    assert cli([*reset, "--config", str(config)], cwd=tmp_path).code == 0
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


def test_a_truncated_file_is_reported_and_left_as_it_is(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    victim = folder / "issues" / "acme__repo-002.jsonl"
    size = victim.stat().st_size
    victim.write_bytes(victim.read_bytes()[:50])
    before = jsonl_files(folder)
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: {victim} is shorter than the checkpoint says (50 < {size} bytes) — it was "
        "changed outside ghye; run `ghye reset --repo acme/repo-002 --endpoint issues` to "
        "collect that unit again",
    )
    assert jsonl_files(folder) == before


# --- the data folder cannot be written -------------------------------------------------------


def test_a_storage_root_under_a_regular_file_cannot_be_created(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # Root ignores permission bits, so chmod proves nothing here; mkdir under a file fails for
    # everyone (ENOTDIR).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(config_text(fake.base_url, blocker / "data"), encoding="utf-8")
    assert_refused(
        cli(["collect", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: cannot create the data folder {target_dir(blocker / 'data')}: Not a directory — "
        "check storage.root",
    )


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a tmpfs of a given size under tmp_path (root only; skipped otherwise)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        point = tmp_path / f"tmpfs{len(mounted)}"
        point.mkdir()
        if shutil.which("mount") is None:
            pytest.skip("no mount command")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(point)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def remount(point: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(point)], check=True)


def test_a_read_only_data_folder_fails_clearly_and_resume_continues_once_writable(
    tmp_path: Path, fake: FakeGitHub, stopped: Path, tmpfs: Callable[[str], Path]
) -> None:
    mnt = tmpfs("16m")
    shutil.copytree(stopped / "data", mnt / "data")
    config = tmp_path / "config.yaml"
    config.write_text(config_text(fake.base_url, mnt / "data"), encoding="utf-8")
    folder = target_dir(mnt / "data")
    before = snapshot_files(folder)
    remount(mnt, "ro")
    assert_refused(
        cli(["resume", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: cannot write {folder / 'checkpoint.json.lock'}: read-only or permission denied "
        "— make the folder writable (or point storage.root elsewhere), then run `ghye resume`",
    )
    # Nothing to unlock is not an error, read-only or not.
    unlock = cli(["unlock", "--config", str(config)], cwd=tmp_path)
    assert (unlock.code, unlock.stderr) == (0, ""), unlock
    remount(mnt, "rw")
    assert snapshot_files(folder) == before
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


@pytest.mark.parametrize("size", ["8k", "48k"], ids=["full-at-the-checkpoint", "full-at-data"])
def test_a_full_disk_stops_the_run_and_resume_finishes_once_space_is_freed(
    tmp_path: Path, fake: FakeGitHub, tmpfs: Callable[[str], Path], size: str
) -> None:
    mnt = tmpfs(size)
    config = tmp_path / "config.yaml"
    config.write_text(config_text(fake.base_url, mnt / "data"), encoding="utf-8")
    folder = target_dir(mnt / "data")
    assert_refused(
        process(["collect", "--config", str(config)]),
        3,
        re.compile(
            rf"error: disk full while writing {re.escape(str(folder))}/\S+ — free space, then run "
            r"`ghye resume`; nothing committed was lost"
        ),
    )
    assert checkpoint_problems(folder) == []
    remount(mnt, "size=16m")
    assert process(["resume", "--config", str(config)]).code == 0
    assert expected_problems(fake, folder) == []


def test_a_data_file_on_a_full_device_stops_the_run_and_loses_nothing(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    # Works without root: the unit's file is a symlink to /dev/full, whose writes fail ENOSPC.
    config, folder = clone(complete, tmp_path, fake)
    reset = ["reset", "--repo", "acme/repo-000", "--endpoint", "commits", "--yes"]
    assert cli([*reset, "--config", str(config)], cwd=tmp_path).code == 0
    victim = folder / "commits" / "acme__repo-000.jsonl"
    victim.symlink_to("/dev/full")
    before = jsonl_files(folder)
    assert_refused(
        cli(["resume", "--config", str(config)], cwd=tmp_path),
        3,
        f"error: disk full while writing {victim} — free space, then run `ghye resume`; "
        "nothing committed was lost",
    )
    assert jsonl_files(folder) == before
    assert unit_state(folder, "acme/repo-000", "commits").offset == 0
    victim.unlink()
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


# --- command-line use ------------------------------------------------------------------------


def test_an_unknown_from_repo_is_refused_with_close_matches(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    before = jsonl_files(folder)
    assert_refused(
        cli(["resume", "--from-repo", "acme/repo-0", "--config", str(config)], cwd=tmp_path),
        2,
        "error: --from-repo acme/repo-0 is not in the checkpoint's plan — did you mean "
        "acme/repo-002, acme/repo-001, acme/repo-000? (`ghye status` lists the planned repos)",
    )
    assert jsonl_files(folder) == before


def test_reset_off_a_terminal_without_yes_removes_nothing(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    before = snapshot_files(folder)
    ran = cli(["reset", "--config", str(config)], cwd=tmp_path)
    assert_refused(
        ran, 2, re.compile(r"error: reset would remove \d+ files; rerun with --yes to confirm")
    )
    count = int(re.findall(r"\d+", ran.stderr)[0])
    assert count == len(before)  # every file of the target, lock files aside
    assert snapshot_files(folder) == before


def test_reset_of_an_unknown_endpoint_suggests_the_right_one(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    before = snapshot_files(folder)
    assert_refused(
        cli(["reset", "--endpoint", "comits", "--yes", "--config", str(config)], cwd=tmp_path),
        2,
        re.compile(
            r"error: unknown endpoint 'comits' — did you mean 'commits'\? \(endpoints: .+\)"
        ),
    )
    assert snapshot_files(folder) == before


def test_a_lock_held_by_another_process_exits_4_naming_it(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    before = jsonl_files(folder)
    requests = fake.stats()["requests"]
    with RunLock(folder / "checkpoint.json.lock", command="ghye collect"):
        ran = process(["resume", "--config", str(config)])
    assert_refused(
        ran,
        4,
        re.compile(
            rf"error: checkpoint locked by pid {os.getpid()} on {re.escape(socket.gethostname())}"
            r" since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(ghye collect\) — if that process is gone, "
            r"run `ghye unlock`"
        ),
    )
    assert jsonl_files(folder) == before
    assert fake.stats()["requests"] == requests


# --- a committed line edited behind ghye's back ----------------------------------------------


def test_a_committed_line_that_no_longer_parses_fails_only_its_unit(
    tmp_path: Path, fake: FakeGitHub, stopped: Path
) -> None:
    config, folder = clone(stopped, tmp_path, fake)
    victim = folder / STOPPED_ENDPOINT / "acme__repo-000.jsonl"
    raw = bytearray(victim.read_bytes())
    raw[0] = ord("X")  # the first line no longer parses; the size stays what was committed
    victim.write_bytes(bytes(raw))
    ran = cli(["resume", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "Traceback" not in ran.stdout + ran.stderr
    assert "internal error" not in ran.stderr
    state = unit_state(folder, STOPPED_REPO, STOPPED_ENDPOINT)
    assert state.status is CheckpointStatus.FAILED
    assert state.error == (
        f"{victim} line 1 is not a record in ghye's envelope — it was changed outside ghye; run "
        f"`ghye reset --repo {STOPPED_REPO} --endpoint {STOPPED_ENDPOINT}` to collect that unit "
        "again"
    )
    # Every other unit was collected.
    others = [
        (repo, endpoint)
        for repo, endpoint, s in CheckpointManager.read_only(
            folder / "checkpoint.json", folder / "checkpoint.journal"
        ).units()
        if s.status is not CheckpointStatus.COMPLETE
    ]
    assert others == [(STOPPED_REPO, STOPPED_ENDPOINT)]
    # The advice works.
    reset = ["reset", "--repo", STOPPED_REPO, "--endpoint", STOPPED_ENDPOINT, "--yes"]
    assert cli([*reset, "--config", str(config)], cwd=tmp_path).code == 0
    assert cli(["resume", "--config", str(config)], cwd=tmp_path).code == 0
    assert expected_problems(fake, folder) == []


def test_a_damaged_pulls_file_fails_only_that_repositorys_reviews(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    reset = ["reset", "--repo", "acme/repo-001", "--endpoint", "reviews", "--yes"]
    assert cli([*reset, "--config", str(config)], cwd=tmp_path).code == 0
    pulls = folder / "pulls" / "acme__repo-001.jsonl"
    raw = bytearray(pulls.read_bytes())
    raw[0] = ord("[")  # still JSON-ish, no longer ghye's envelope
    pulls.write_bytes(bytes(raw))
    ran = cli(["resume", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "internal error" not in ran.stderr
    state = unit_state(folder, "acme/repo-001", "reviews")
    assert state.status is CheckpointStatus.FAILED
    assert f"{pulls} line 1 is not a record in ghye's envelope" in (state.error or "")
