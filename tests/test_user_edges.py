"""Where a person meets ghye: no command destroys what it did not mean to, and the outcome —
exit code and summary — always tells the truth.

Data without its checkpoint is refused, `--force` checks the token and the target (and asks on
a terminal) before it removes anything, a first run that failed before collecting anything
takes the corrected config, a run that could read nothing is not a success, a closed stdout is
not a bug, a repository that is gone costs one request, and the summary groups what did not
complete by repository.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clirun import assert_refused, cli
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    SINCE,
    TEST_TOKEN,
    TOKEN_ENV,
    UNTIL,
    checkpoint_problems,
    compare_with_expected,
    ghye_command,
    ghye_env,
    manifest_problems,
    read_dataset,
    run_ghye,
    snapshot_files,
    target_dir,
    unused_port,
    write_config,
)

SETTINGS = FakeSettings(
    repos=3, pulls=10, issues=10, issue_comments=20, review_comments=10, commits=30,
    reviews_per_pull=0.5, forks=(), archived=(), token=TEST_TOKEN,
)  # fmt: skip


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(SETTINGS).start() as server:
        yield server


@pytest.fixture(scope="module")
def complete(fake: FakeGitHub, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("complete")
    assert (
        cli(["collect", "--config", str(write_config(folder, fake.base_url))], cwd=folder).code == 0
    )
    return folder


def clone(source: Path, dest: Path, fake: FakeGitHub, **config: Any) -> tuple[Path, Path]:
    shutil.copytree(source / "data", dest / "data")
    return write_config(dest, fake.base_url, **config), target_dir(dest / "data")


def exact(server: FakeGitHub, folder: Path) -> list[str]:
    return (
        compare_with_expected(read_dataset(folder), server.expected(SINCE, UNTIL))
        + checkpoint_problems(folder, final=True)
        + manifest_problems(folder)
    )


def data_files(folder: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot_files(folder).items() if k.endswith(".jsonl")}


# --- 9. data without its checkpoint ----------------------------------------------------------


def test_data_without_a_checkpoint_is_refused_before_any_request(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    (folder / "checkpoint.json").unlink()
    (folder / "checkpoint.journal").unlink(missing_ok=True)
    before = snapshot_files(folder)
    requests = fake.stats()["requests"]
    line = (
        f"error: {folder} holds collected data but no checkpoint.json, so ghye cannot tell what "
        "it holds — restore checkpoint.json (and checkpoint.journal) from a backup to continue, "
        "or run `ghye collect --force` to remove that data and start over"
    )
    for command in ("collect", "resume"):
        assert_refused(cli([command, "--config", str(config)], cwd=tmp_path), 2, line)
    assert snapshot_files(folder) == before
    assert fake.stats()["requests"] == requests
    # The way out it names works.
    assert cli(["collect", "--force", "--config", str(config)], cwd=tmp_path).code == 0
    assert exact(fake, folder) == []


# --- 10. --force checks first, asks on a terminal, removes last -------------------------------


def test_force_with_a_rejected_token_removes_nothing(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    before = snapshot_files(folder)
    assert_refused(
        cli(
            ["collect", "--force", "--config", str(config)],
            cwd=tmp_path,
            environ={TOKEN_ENV: "ghp_revoked0000000000"},
        ),
        5,
        f"error: GitHub rejected the token (401 Bad credentials) — check {TOKEN_ENV}: it may be "
        "wrong, expired or revoked",
    )
    assert snapshot_files(folder) == before


def test_force_to_an_unreachable_api_removes_nothing(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    shutil.copytree(complete / "data", tmp_path / "data")
    folder = target_dir(tmp_path / "data")
    config = write_config(
        tmp_path, f"http://127.0.0.1:{unused_port()}", extra_rate_limit={"max_retries": 0}
    )
    before = data_files(folder)
    ran = cli(["collect", "--force", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    assert "check github.api_url" in ran.stderr
    assert data_files(folder) == before


def test_force_on_a_terminal_asks_and_no_keeps_everything(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    before = snapshot_files(folder)
    ran = cli(
        ["collect", "--force", "--config", str(config)],
        cwd=tmp_path,
        interactive=lambda: True,
        answers="n\n",
    )
    assert ran.code == 0, ran
    assert re.search(r"this removes \d+ data files \(.+\) in ", ran.stdout), ran.stdout
    assert "remove them and start over? [y/N]" in ran.stdout
    assert "cancelled — nothing was removed, nothing collected" in ran.stdout
    assert snapshot_files(folder) == before


def test_force_on_a_terminal_answered_yes_starts_over(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake)
    ran = cli(
        ["collect", "--force", "--config", str(config)],
        cwd=tmp_path,
        interactive=lambda: True,
        answers="y\n",
    )
    assert ran.code == 0, ran
    assert exact(fake, folder) == []


def test_force_yes_does_not_ask(tmp_path: Path, fake: FakeGitHub, complete: Path) -> None:
    config, folder = clone(complete, tmp_path, fake)
    ran = cli(
        ["collect", "--force", "--yes", "--config", str(config)],
        cwd=tmp_path,
        interactive=lambda: True,
    )
    assert ran.code == 0, ran
    assert "start over?" not in ran.stdout
    assert exact(fake, folder) == []


# --- 11. a first run that collected nothing takes the corrected config ------------------------


def test_a_first_run_that_failed_to_connect_takes_the_corrected_api_url(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    wrong = f"http://127.0.0.1:{unused_port()}"
    config = write_config(tmp_path, wrong, extra_rate_limit={"max_retries": 0})
    first = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert first.code == 3
    assert "check github.api_url" in first.stderr
    assert "ghye resume" not in first.stderr
    write_config(tmp_path, fake.base_url)  # corrected
    again = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert again.code == 0, again
    assert "the checkpoint holds no collected page: starting with the changed config" in (
        again.stdout
    )
    assert exact(fake, target_dir(tmp_path / "data")) == []


def test_a_missing_api_v3_is_named_and_the_corrected_url_is_taken(tmp_path: Path) -> None:
    ghes = FakeSettings(repos=2, forks=(), archived=(), token=TEST_TOKEN, prefix="/api/v3")
    with FakeGitHub(ghes).start() as server:
        config = write_config(
            tmp_path, server.origin
        )  # GitHub Enterprise Server's /api/v3 left out
        first = cli(["collect", "--config", str(config)], cwd=tmp_path)
        assert first.code == 2
        assert "for GitHub Enterprise Server that github.api_url ends with /api/v3" in (
            first.stderr
        )
        write_config(tmp_path, server.base_url)  # corrected
        again = cli(["collect", "--config", str(config)], cwd=tmp_path)
        assert again.code == 0, again
        assert exact(server, target_dir(tmp_path / "data")) == []


def test_https_against_a_plain_http_port_says_to_check_api_url(
    tmp_path: Path, fake: FakeGitHub
) -> None:
    # The TLS handshake finds no TLS server: the request never finishes.
    wrong = fake.base_url.replace("http://", "https://")
    config = write_config(
        tmp_path, wrong, extra_rate_limit={"max_retries": 0, "request_timeout_seconds": 0.5}
    )
    # In a process of its own: asyncio leaves the socket of a handshake cut short by the
    # timeout to the garbage collector (a ResourceWarning the suite treats as an error).
    ran = run_ghye(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.returncode == 3
    assert "check github.api_url" in ran.stderr
    assert "its scheme, host and port" in ran.stderr
    assert "ghye resume" not in ran.stderr


def test_a_changed_config_is_still_refused_once_pages_were_collected(
    tmp_path: Path, fake: FakeGitHub, complete: Path
) -> None:
    config, folder = clone(complete, tmp_path, fake, discovery={"include_forks": True})
    before = data_files(folder)
    assert cli(["collect", "--config", str(config)], cwd=tmp_path).code == 2
    assert data_files(folder) == before


# --- 12. a run that could read nothing is not a success --------------------------------------


def test_every_repository_refused_is_exit_3_with_the_likely_cause(tmp_path: Path) -> None:
    settings = FakeSettings(
        repos=3, pulls=3, issues=3, issue_comments=3, review_comments=3, commits=3,
        forks=(), archived=(), forbidden=(0, 1, 2), token=TEST_TOKEN,
    )  # fmt: skip
    with FakeGitHub(settings).start() as server:
        config = write_config(tmp_path, server.base_url)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 3, ran
    first = next(
        line for line in ran.stdout.splitlines() if line.startswith("nothing could be read")
    )
    assert first == (
        "nothing could be read — target acme: 3 repositories refused access (403) — the token "
        "may lack a scope or permission, or SAML SSO authorization for the org — the dataset is "
        "empty; fix access, then `ghye resume --retry-failed`"
    )


def test_some_repositories_refused_are_named_in_the_summary_line(tmp_path: Path) -> None:
    settings = FakeSettings(
        repos=3, pulls=3, issues=3, issue_comments=3, review_comments=3, commits=3,
        forks=(), archived=(), forbidden=(1,), token=TEST_TOKEN,
    )  # fmt: skip
    with FakeGitHub(settings).start() as server:
        config = write_config(tmp_path, server.base_url)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 0, ran
    assert (
        "complete — target acme (1 repository refused access (403) — the token may lack a scope "
        "or permission, or SAML SSO authorization for the org)"
    ) in ran.stdout.splitlines()


def test_an_organization_with_nothing_to_collect_is_complete(tmp_path: Path) -> None:
    settings = FakeSettings(repos=2, forks=(0, 1), archived=(), token=TEST_TOKEN)
    with FakeGitHub(settings).start() as server:
        config = write_config(tmp_path, server.base_url)
        ran = cli(["collect", "--config", str(config)], cwd=tmp_path)
    assert ran.code == 0, ran
    assert "complete — target acme" in ran.stdout


# --- 16. a closed stdout is not a bug --------------------------------------------------------


@pytest.mark.parametrize("command", ["status", "verify", "collect"])
def test_a_stdout_nobody_reads_ends_with_the_commands_own_exit_code(
    tmp_path: Path, fake: FakeGitHub, complete: Path, command: str
) -> None:
    # `ghye status | true`: the reader is gone before ghye writes a byte.
    config, folder = clone(complete, tmp_path, fake)
    if command == "collect":
        config = write_config(tmp_path / "fresh", fake.base_url)
        folder = target_dir(tmp_path / "fresh" / "data")
    proc = subprocess.Popen(
        ghye_command(command, "--config", str(config)),
        env=ghye_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
    assert b"internal error" not in err
    if command == "collect":
        assert exact(fake, folder) == []


# --- 17 and 18. a repository that is gone: one request, one row -------------------------------


@pytest.fixture(scope="module")
def troubled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeGitHub, Path, str]]:
    settings = FakeSettings(
        repos=6, pulls=4, issues=4, issue_comments=4, review_comments=4, commits=4,
        forks=(), archived=(), not_found=(1,), blocked=(2,), forbidden=(3,), token=TEST_TOKEN,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("troubled")
    with FakeGitHub(settings).start() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "200")  # a wide terminal: one table row is one line
        config = write_config(folder, server.base_url)
        ran = cli(["collect", "--config", str(config)], cwd=folder)
        assert ran.code == 0, ran
        yield server, folder, ran.stdout


@pytest.mark.parametrize(("repo", "status"), [("acme/repo-001", 404), ("acme/repo-002", 451)])
def test_a_repository_gone_or_blocked_costs_one_request(
    troubled: tuple[FakeGitHub, Path, str], repo: str, status: int
) -> None:
    server, folder, _ = troubled
    asked = [e for e in server.log() if f"/repos/{repo}/" in e["target"]]
    assert len(asked) == 1, asked
    assert asked[0]["status"] == status
    problems = checkpoint_problems(target_dir(folder / "data"), final=True)
    assert problems == []


def test_the_summary_gives_a_repository_gone_one_row_without_a_url(
    troubled: tuple[FakeGitHub, Path, str],
) -> None:
    _, _, out = troubled
    table = out[out.index("units that did not complete") :]
    rows = {
        repo: line
        for line in table.splitlines()
        for repo in ("acme/repo-001", "acme/repo-002", "acme/repo-003")
        if repo in line
    }
    assert set(rows) == {"acme/repo-001", "acme/repo-002", "acme/repo-003"}
    assert "gone or hidden (404)" in rows["acme/repo-001"]
    assert "blocked for legal reasons (451)" in rows["acme/repo-002"]
    assert "refused access (403)" in rows["acme/repo-003"]
    assert "http://" not in table
    assert len(table.splitlines()) < 20
    summary = next(line for line in out.splitlines() if line.startswith("complete"))
    assert "1 repository gone or hidden (404)" in summary
    assert "1 repository blocked for legal reasons (451)" in summary
    assert "1 repository refused access (403)" in summary
