"""The token goes to the configured API's origin and nowhere else: not into any file under the
data folder (checkpoint, journal, manifest, JSONL), not into the config, not onto stdout or
stderr — even with --verbose, after retries and failures, and after GitHub rejects it — and
never to the host a foreign ``Link: rel="next"`` points at.

Every token here is made fresh per test, so finding it anywhere can only mean a leak.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import orjson

from gh_year_end.storage.checkpoint import CheckpointManager, CheckpointStatus
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings
from harness import (
    checkpoint_problems,
    config_text,
    ghye_env,
    run_ghye,
    run_until_done,
    target_dir,
    write_config,
)

# Two pages of commits per repo, so every run meets Link headers.
DATA = FakeSettings(
    repos=3, pulls=12, issues=10, issue_comments=20, review_comments=10, commits=300,
    reviews_per_pull=0.5, forks=(), archived=(),
)  # fmt: skip


def fresh_token() -> str:
    return f"ghp_{secrets.token_hex(18)}"


def leaks(token: str) -> tuple[bytes, ...]:
    """The token, and its tail: a token cut or partly masked still leaks."""
    return token.encode(), token[-16:].encode()


def assert_nowhere(token: str, outputs: Iterable[str], folder: Path) -> None:
    """Neither the token nor its tail in any output, nor in any file under ``folder``."""
    for text in outputs:
        for leak in leaks(token):
            assert leak.decode() not in text, text
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files
    for path in files:
        raw = path.read_bytes()
        for leak in leaks(token):
            assert leak not in raw, path


def outputs_of(runs: Iterable[subprocess.CompletedProcess[str]]) -> list[str]:
    return [text for run in runs for text in (run.stdout, run.stderr)]


def test_a_verbose_run_through_faults_and_failures_writes_and_prints_no_token(
    tmp_path: Path,
) -> None:
    token = fresh_token()
    settings = replace(
        DATA, token=token, fault_rate=0.15,
        fault_kinds=("500", "502", "503", "reset", "truncate", "badjson"),
        not_found=(1,), forbidden=(2,),
    )  # fmt: skip
    env = ghye_env(token=token)
    with FakeGitHub(settings).start() as fake:
        # One retry, and repo-000's commits refused twice: failures (with their messages) land
        # in the checkpoint, the summary and the manifest, and resume runs the same paths again.
        fake.inject("502", match="/repos/acme/repo-000/commits", times=2)
        config = write_config(tmp_path, fake.base_url, extra_rate_limit={"max_retries": 1})
        runs = run_until_done(config, env=env, max_runs=25, extra_args=["--verbose"])
        runs.append(run_ghye(["status", "--json", "--config", str(config)], env=env))
        runs.append(run_ghye(["--verbose", "status", "--config", str(config)], env=env))
        stats = fake.stats()
    assert [run.returncode for run in runs][-3:] == [0, 0, 0], runs[-3].stdout
    assert len(runs) >= 4  # failures happened, and were resumed
    assert stats["bad_auth"] == 0  # the token really was sent, on every request
    assert sum(stats["faults"].values()) > 0
    assert any("DEBUG" in run.stderr for run in runs)  # --verbose did log
    folder = target_dir(tmp_path / "data")
    assert checkpoint_problems(folder, final=True) == []
    assert_nowhere(token, outputs_of(runs), tmp_path)
    # Named explicitly: the two files a user would paste into a bug report.
    for path in (config, folder / "checkpoint.json", folder / "manifest.json"):
        assert token.encode() not in path.read_bytes()


def test_a_rejected_token_is_not_echoed_even_with_verbose_tracebacks(tmp_path: Path) -> None:
    right, wrong = fresh_token(), fresh_token()
    with FakeGitHub(replace(DATA, token=right)).start() as fake:
        config = write_config(tmp_path, fake.base_url)
        runs = [
            run_ghye([*flags, "collect", "--config", str(config)], env=ghye_env(token=wrong))
            for flags in ([], ["--verbose"])
        ]
        stats = fake.stats()
    assert [run.returncode for run in runs] == [5, 5]
    assert stats["bad_auth"] >= 2  # the wrong token really reached the server
    assert "GitHub rejected the token (401 Bad credentials)" in runs[0].stderr
    assert "Traceback" in runs[1].stderr  # --verbose shows where it failed
    assert_nowhere(wrong, outputs_of(runs), tmp_path)


def test_a_token_written_into_api_url_is_refused_and_copied_nowhere(tmp_path: Path) -> None:
    token = fresh_token()
    with FakeGitHub(replace(DATA, token=token)).start() as fake:
        api = fake.base_url.replace("http://", f"http://x-access-token:{token}@")
        config = tmp_path / "config.yaml"
        config.write_text(config_text(api, tmp_path / "data"), encoding="utf-8")
        runs = [
            run_ghye([*flags, "collect", "--config", str(config)], env=ghye_env(token=token))
            for flags in ([], ["--verbose"])
        ]
        requests = fake.stats()["requests"]
    assert [run.returncode for run in runs] == [2, 2]
    assert runs[0].stderr == (
        f"error: {config}: github.api_url: must not carry credentials (user:token@) — put the "
        "token in the environment variable named by github.auth.token_env\n"
    )
    assert requests == 0
    for text in outputs_of(runs):
        assert token not in text
    assert not (tmp_path / "data").exists()


def test_a_next_link_to_another_origin_is_refused_and_that_host_gets_no_request(
    tmp_path: Path,
) -> None:
    token = fresh_token()
    env = ghye_env(token=token)
    with FakeGitHub(replace(DATA, token=token)).start() as elsewhere:
        settings = replace(DATA, token=token, link_base_url=elsewhere.base_url)
        with FakeGitHub(settings).start() as fake:
            assert elsewhere.port != fake.port
            config = write_config(tmp_path, fake.base_url)
            runs = [run_ghye(["collect", "--config", str(config)], env=env)]
            runs.append(run_ghye(["resume", "--retry-failed", "--config", str(config)], env=env))
            served = fake.stats()["requests"]
        foreign = elsewhere.stats()
    assert served > 0
    assert (foreign["requests"], foreign["connections"]) == (0, 0)
    refusal = (
        f"GitHub's next link points at {elsewhere.origin}, not {fake.origin} — not followed, "
        "so the token stays with the configured API"
    )
    for run in runs:
        assert run.returncode == 3, run.stdout
        assert "Traceback" not in run.stdout + run.stderr
        assert f"failed: acme/repo-000 commits: {refusal}" in run.stdout
    folder = target_dir(tmp_path / "data")
    checkpoint = CheckpointManager.read_only(
        folder / "checkpoint.json", folder / "checkpoint.journal"
    )
    for repo in checkpoint.repo_names():
        state = checkpoint.get_endpoint(repo, "commits")
        assert state.status is CheckpointStatus.FAILED
        assert (state.retryable, state.unavailable) == (False, False)
        assert refusal in (state.error or "")
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert {(f["endpoint"], f["retryable"]) for f in manifest["failed"]} == {("commits", False)}
    assert_nowhere(token, outputs_of(runs), tmp_path)
