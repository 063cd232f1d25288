"""The command line through Typer's CliRunner, with a Runtime (environment, folder, collector,
terminal, sleep) passed as the context object instead of patching anything."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import typer
from typer.testing import CliRunner, Result

from gh_year_end import __version__
from gh_year_end.cli import Runtime, app, main
from gh_year_end.cli.progress import PlainProgress
from gh_year_end.collect.events import CollectResult, EventSink, NullEvents, UnitFailure
from gh_year_end.collect.run import CollectRequest
from gh_year_end.collect.start import StartDecision
from gh_year_end.config import Config, load_config
from gh_year_end.errors import CheckpointLocked, TokenMissing
from gh_year_end.storage.checkpoint import CheckpointManager
from gh_year_end.storage.jsonl import JSONLWriter
from gh_year_end.storage.lock import LockOwner, RunLock, owner_path, read_owner
from gh_year_end.storage.paths import PathManager

COMMANDS = ("plan", "collect", "resume", "status", "reset", "verify", "unlock")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def config_text(name: str = "acme") -> str:
    return (
        f"github:\n  target: {{mode: org, name: {name}}}\n  windows: {{year: 2025}}\n"
        "collection:\n  enable: {pulls: true, issues: false, reviews: false, comments: false,"
        " commits: true}\n"
        "storage:\n  root: data\n"
    )


@dataclass
class StubCollector:
    """Stands in for run_collect: records the call, emits events, returns or raises."""

    result: CollectResult | None = None
    error: BaseException | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)

    def __call__(
        self,
        config: Config,
        request: CollectRequest,
        *,
        environ: Mapping[str, str],
        events: EventSink,
        command: str,
        install_signals: bool = True,
        confirm: Callable[[StartDecision], bool] | None = None,
    ) -> CollectResult:
        self.calls.append(
            {"config": config, "request": request, "environ": environ, "events": events,
             "command": command, "install_signals": install_signals, "confirm": confirm}
        )  # fmt: skip
        events.message("continuing the run for acme")
        events.waiting("primary rate limit", 12)
        events.unit_finished("acme/web", "commits", "failed", "502 Bad Gateway")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def result(**changes: Any) -> CollectResult:
    base = CollectResult(
        outcome="complete",
        exit_code=0,
        target="acme",
        continued=False,
        units_total=6,
        units_complete=5,
        units_unavailable=1,
        units_failed=0,
        units_pending=0,
        units_skipped=0,
        pages_this_run=40,
        records_this_run=3_400,
        records_total=3_400,
        requests=45,
        rate_limit_hits=0,
        elapsed_seconds=190.4,
        failures=(UnitFailure("acme/docs", "commits", "404 Not Found", False, True, 404),),
    )
    return replace(base, **changes)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(config_text(), encoding="utf-8")
    return tmp_path


def runtime(cwd: Path, **changes: Any) -> Runtime:
    base = Runtime(
        environ={"GITHUB_TOKEN": "t0ken"},
        cwd=cwd,
        collect=StubCollector(result=result()),
        interactive=lambda: False,
        force_terminal=False,
        sleep=lambda _s: None,
        install_signals=False,
    )
    return replace(base, **changes)


def invoke(rt: Runtime, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), obj=rt, input=input, prog_name="ghye")


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- help ------------------------------------------------------------------------------------


def test_top_level_help_lists_commands_and_exit_codes(tmp_path: Path) -> None:
    res = invoke(runtime(tmp_path), "--help")
    assert res.exit_code == 0
    for command in COMMANDS:
        assert command in res.stdout
    codes_shown = re.findall(r"^ {2,}(\d+(?: / \d+)*)(?: |$)", res.stdout, re.MULTILINE)
    assert " / ".join(codes_shown) == "0 / 1 / 2 / 3 / 4 / 5 / 129 / 130 / 143"
    for option in ("--verbose", "--quiet", "--version"):
        assert option in res.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_text_and_lists_its_options(tmp_path: Path, command: str) -> None:
    res = invoke(runtime(tmp_path), command, "--help")
    assert res.exit_code == 0
    assert f"Usage: ghye {command}" in res.stdout
    description = res.stdout.split("Options:")[0].split("\n", 1)[1].strip()
    assert len(description) > 40
    assert "--config" in res.stdout
    assert "--verbose" in res.stdout
    assert "Examples:" in res.stdout


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("plan", ("--json",)),
        ("collect", ("--force", "--quiet", "--json")),
        ("resume", ("--from-repo", "--retry-failed", "--quiet", "--json")),
        ("status", ("--json", "--watch", "--interval")),
        ("reset", ("--repo", "--endpoint", "--failed", "--yes", "--dry-run")),
        ("verify", ("--json",)),
        ("unlock", ("--force",)),
    ],
)
def test_command_help_lists_its_own_options(
    tmp_path: Path, command: str, options: tuple[str, ...]
) -> None:
    res = invoke(runtime(tmp_path), command, "--help")
    for option in options:
        assert option in res.stdout


def test_the_help_tests_cover_every_command() -> None:
    assert tuple(typer.main.get_command(app).commands) == COMMANDS  # type: ignore[attr-defined]


def test_version(tmp_path: Path) -> None:
    res = invoke(runtime(tmp_path), "--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"ghye {__version__}"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert invoke(runtime(tmp_path), "collect", "--no-such-option").exit_code == 2
    assert invoke(runtime(tmp_path), "no-such-command").exit_code == 2
    assert invoke(runtime(tmp_path), "status", "--interval", "0").exit_code == 2


def test_main_runs_the_app(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ghye {__version__}"


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gh_year_end", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.strip() == f"ghye {__version__}"


# --- config discovery ------------------------------------------------------------------------


def names_used(rt: Runtime, *args: str) -> str:
    res = invoke(rt, "collect", "--quiet", *args)
    assert res.exit_code == 0, res.output
    stub = rt.collect
    assert isinstance(stub, StubCollector)
    config: Config = stub.calls[-1]["config"]
    return config.github.target.name


def test_config_discovery_order(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(
        config_text("from-config-dir"), encoding="utf-8"
    )
    assert names_used(runtime(tmp_path)) == "from-config-dir"
    (tmp_path / "config.yaml").write_text(config_text("from-cwd"), encoding="utf-8")
    assert names_used(runtime(tmp_path)) == "from-cwd"
    (tmp_path / "env.yaml").write_text(config_text("from-env"), encoding="utf-8")
    env = {"GHYE_CONFIG": "env.yaml", "GITHUB_TOKEN": "x"}
    assert names_used(runtime(tmp_path, environ=env)) == "from-env"
    (tmp_path / "explicit.yaml").write_text(config_text("from-flag"), encoding="utf-8")
    assert names_used(runtime(tmp_path, environ=env), "--config", "explicit.yaml") == "from-flag"
    assert (
        names_used(runtime(tmp_path, environ=env), "-c", str(tmp_path / "explicit.yaml"))
        == "from-flag"
    )


def test_relative_storage_root_is_taken_from_the_current_folder(workdir: Path) -> None:
    rt = runtime(workdir)
    invoke(rt, "collect")
    assert isinstance(rt.collect, StubCollector)
    assert rt.collect.calls[0]["config"].storage.root == workdir / "data"


def test_no_config_anywhere_names_the_places_looked(tmp_path: Path) -> None:
    res = invoke(runtime(tmp_path), "collect")
    assert res.exit_code == 2
    assert one_line(res.stderr) == (
        f"error: no config file found — looked at --config (not given), $GHYE_CONFIG (not set), "
        f"./config.yaml, ./config/config.yaml in {tmp_path}; copy config/config.example.yaml to "
        "./config.yaml, or pass --config PATH"
    )
    assert res.stdout == ""


def test_missing_ghye_config_file_is_config_not_found(tmp_path: Path) -> None:
    res = invoke(runtime(tmp_path, environ={"GHYE_CONFIG": "nope.yaml"}), "status")
    assert res.exit_code == 2
    assert one_line(res.stderr).startswith(f"error: config file {tmp_path / 'nope.yaml'} not found")


def test_bad_config_is_one_line_exit_2_without_traceback(workdir: Path) -> None:
    (workdir / "config.yaml").write_text(
        config_text() + "rate_limit: {max_concurency: 2}\n", encoding="utf-8"
    )
    res = invoke(runtime(workdir), "collect")
    assert res.exit_code == 2
    assert one_line(res.stderr).startswith(
        f"error: {workdir / 'config.yaml'}: rate_limit.max_concurency: unknown key — "
        "did you mean 'rate_limit.max_concurrency'?"
    )
    assert "Traceback" not in res.output


# --- errors ----------------------------------------------------------------------------------


def test_internal_error_is_one_line_exit_1(workdir: Path) -> None:
    rt = runtime(workdir, collect=StubCollector(error=RuntimeError("boom")))
    res = invoke(rt, "collect", "--quiet")
    assert res.exit_code == 1
    assert (
        one_line(res.stderr)
        == "internal error: RuntimeError: boom — rerun with --verbose for the traceback"
    )
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "args", [("--verbose", "collect"), ("collect", "--verbose"), ("-v", "collect")]
)
def test_verbose_shows_the_traceback_of_an_internal_error(
    workdir: Path, args: tuple[str, ...]
) -> None:
    rt = runtime(workdir, collect=StubCollector(error=RuntimeError("boom")))
    res = invoke(rt, *args, "--quiet") if args[0] == "collect" else invoke(rt, *args)
    assert res.exit_code == 1
    assert "Traceback (most recent call last)" in res.stderr
    assert "RuntimeError: boom" in res.stderr
    assert res.stderr.strip().endswith("internal error: RuntimeError: boom")


def test_ghye_error_is_red_line_and_its_exit_code(workdir: Path) -> None:
    message = (
        "checkpoint locked by pid 4123 on host-a since 2026-03-01 10:02 UTC (ghye collect) — "
        "if that process is gone, run `ghye unlock`"
    )
    rt = runtime(workdir, collect=StubCollector(error=CheckpointLocked(message)))
    res = invoke(rt, "collect", "--quiet")
    assert res.exit_code == 4
    assert one_line(res.stderr) == f"error: {message}"


def test_token_missing_exits_5(workdir: Path) -> None:
    rt = runtime(
        workdir, collect=StubCollector(error=TokenMissing("no token in $GITHUB_TOKEN — export it"))
    )
    res = invoke(rt, "resume", "--quiet")
    assert res.exit_code == 5
    assert one_line(res.stderr) == "error: no token in $GITHUB_TOKEN — export it"


def test_ghye_error_with_verbose_shows_its_traceback(workdir: Path) -> None:
    rt = runtime(workdir, collect=StubCollector(error=TokenMissing("no token")))
    res = invoke(rt, "-v", "collect", "-q")
    assert res.exit_code == 5
    assert "Traceback" in res.stderr
    assert res.stderr.strip().endswith("error: no token")


def test_keyboard_interrupt_outside_the_collector_exits_130_quietly(workdir: Path) -> None:
    rt = runtime(workdir, collect=StubCollector(error=KeyboardInterrupt()))
    res = invoke(rt, "collect", "--quiet")
    assert res.exit_code == 130
    assert res.stderr == ""


# --- collect / resume ------------------------------------------------------------------------


def test_collect_passes_the_request_and_renders_the_summary(workdir: Path) -> None:
    rt = runtime(workdir)
    res = invoke(rt, "collect", "--force")
    assert res.exit_code == 0, res.output
    assert isinstance(rt.collect, StubCollector)
    call = rt.collect.calls[0]
    assert call["request"] == CollectRequest(force=True)
    assert call["command"] == "ghye collect"
    assert call["environ"] == {"GITHUB_TOKEN": "t0ken"}
    assert call["install_signals"] is False
    assert isinstance(call["events"], PlainProgress)
    out = res.stdout
    assert "continuing the run for acme" in out
    assert "waiting 00:00:12: primary rate limit" in out
    assert "failed: acme/web commits: 502 Bad Gateway" in out
    assert (
        "complete — target acme (1 repository gone or hidden (404) — removed, renamed, or not "
        "visible to the token)" in out
    )
    assert "units: 5 complete, 1 unavailable, 0 failed, 0 pending (of 6)" in out
    assert (
        "records: 3,400 this run, 3,400 in all · pages: 40 · requests: 45 · elapsed 00:03:10" in out
    )
    assert "acme/docs" in out
    assert "gone or hidden (404)" in out
    assert (
        f"data: {PathManager(load_config(workdir / 'config.yaml', cwd=workdir)).target_dir}" in out
    )


def test_quiet_silences_progress_but_not_the_summary(workdir: Path) -> None:
    rt = runtime(workdir)
    res = invoke(rt, "--quiet", "collect")
    assert isinstance(rt.collect, StubCollector)
    assert isinstance(rt.collect.calls[0]["events"], NullEvents)
    assert "waiting" not in res.stdout
    assert "complete — target acme" in res.stdout


def test_resume_passes_its_options(workdir: Path) -> None:
    rt = runtime(workdir)
    res = invoke(rt, "resume", "--from-repo", "acme/web", "--retry-failed", "-q")
    assert res.exit_code == 0
    assert isinstance(rt.collect, StubCollector)
    call = rt.collect.calls[0]
    assert call["request"] == CollectRequest(resume=True, from_repo="acme/web", retry_failed=True)
    assert call["command"] == "ghye resume"


def test_incomplete_run_shows_failures_and_next_steps(workdir: Path) -> None:
    failures = (
        UnitFailure("acme/web", "commits", "502 Bad Gateway (retries spent)", True, False),
        UnitFailure(
            "acme/api", "pulls", "next link to another origin: https://evil.example/", False, False
        ),
    )
    rt = runtime(workdir, collect=StubCollector(result=result(
        outcome="incomplete", exit_code=3, units_complete=3, units_failed=2, units_unavailable=0,
        units_pending=1, failures=failures, rate_limit_hits=2,
    )))  # fmt: skip
    res = invoke(rt, "collect", "-q")
    assert res.exit_code == 3
    out = res.stdout
    assert "incomplete — target acme: some units are not done" in out
    assert "requests: 45 (2 rate-limited)" in out
    for text in (
        "repo",
        "endpoints",
        "what happened",
        "retry",
        "acme/web",
        "502 Bad Gateway",
        "resume",
        "--retry-failed",
    ):
        assert text in out
    assert "continue with `ghye resume`" in out
    assert "`ghye resume --retry-failed` tries the permanently failed units again" in out


def test_interrupted_run_says_progress_is_saved(workdir: Path) -> None:
    rt = runtime(workdir, collect=StubCollector(result=result(
        outcome="interrupted", exit_code=143, units_pending=3, signal_name="SIGTERM", failures=(),
    )))  # fmt: skip
    res = invoke(rt, "collect", "-q")
    assert res.exit_code == 143
    assert res.stdout.splitlines()[0] == "interrupted — progress saved; continue with `ghye resume`"


def test_already_complete_exits_0(workdir: Path) -> None:
    rt = runtime(
        workdir, collect=StubCollector(result=result(outcome="already_complete", continued=True))
    )
    res = invoke(rt, "collect", "-q")
    assert res.exit_code == 0
    assert "already complete — target acme: nothing to collect" in res.stdout
    assert "`ghye collect --force` or `ghye reset` starts over" in res.stdout


def test_manifest_path_is_shown(workdir: Path) -> None:
    manifest = workdir / "data" / "manifest.json"
    rt = runtime(workdir, collect=StubCollector(result=result(manifest_path=manifest)))
    res = invoke(rt, "collect", "-q")
    assert f"manifest: {manifest}" in res.stdout


# --- collect / resume --json ----------------------------------------------------------------


def test_collect_json_prints_only_the_result_as_one_object(workdir: Path) -> None:
    manifest = workdir / "data" / "manifest.json"
    rt = runtime(workdir, collect=StubCollector(result=result(manifest_path=manifest)))
    res = invoke(rt, "collect", "--json")
    assert res.exit_code == 0, res.output
    assert isinstance(rt.collect, StubCollector)
    assert isinstance(rt.collect.calls[0]["events"], NullEvents)  # no progress display
    assert len(res.stdout.splitlines()) == 1
    data = orjson.loads(res.stdout)
    assert set(data) == {f.name for f in fields(CollectResult)} | {"schema_version", "data_dir"}
    target_dir = PathManager(load_config(workdir / "config.yaml", cwd=workdir)).target_dir
    assert data == {
        "schema_version": 1,
        "outcome": "complete",
        "exit_code": 0,
        "target": "acme",
        "data_dir": str(target_dir),
        "continued": False,
        "units_total": 6,
        "units_complete": 5,
        "units_unavailable": 1,
        "units_failed": 0,
        "units_pending": 0,
        "units_skipped": 0,
        "pages_this_run": 40,
        "records_this_run": 3400,
        "records_total": 3400,
        "requests": 45,
        "rate_limit_hits": 0,
        "elapsed_seconds": 190.4,
        "failures": [
            {"repo": "acme/docs", "endpoint": "commits", "reason": "404 Not Found",
             "retryable": False, "unavailable": True, "http_status": 404},
        ],
        "manifest_path": str(manifest),
        "signal_name": None,
        "refused": [],
        "refresh": None,
        "open_window": False,
    }  # fmt: skip
    assert res.stderr == ""


@pytest.mark.parametrize(
    ("outcome", "code", "signal_name"),
    [("incomplete", 3, None), ("interrupted", 143, "SIGTERM"), ("unreadable", 3, None)],
)
def test_collect_json_keeps_the_exit_code(
    workdir: Path, outcome: str, code: int, signal_name: str | None
) -> None:
    failure = UnitFailure("acme/web", "commits", "502 Bad Gateway (retries spent)", True, False)
    rt = runtime(workdir, collect=StubCollector(result=result(
        outcome=outcome, exit_code=code, signal_name=signal_name, failures=(failure,),
        refused=("acme/..: not a safe name",),
    )))  # fmt: skip
    res = invoke(rt, "collect", "--json")
    assert res.exit_code == code
    data = orjson.loads(res.stdout)
    assert (data["outcome"], data["exit_code"], data["signal_name"]) == (outcome, code, signal_name)
    assert data["failures"][0]["http_status"] is None
    assert data["refused"] == ["acme/..: not a safe name"]
    assert data["manifest_path"] is None


def test_resume_json_passes_its_options_and_prints_the_result(workdir: Path) -> None:
    rt = runtime(workdir)
    res = invoke(rt, "resume", "--json", "--from-repo", "acme/web", "--retry-failed")
    assert res.exit_code == 0
    assert isinstance(rt.collect, StubCollector)
    call = rt.collect.calls[0]
    assert call["request"] == CollectRequest(resume=True, from_repo="acme/web", retry_failed=True)
    assert call["command"] == "ghye resume"
    assert orjson.loads(res.stdout)["outcome"] == "complete"


def test_collect_json_with_an_error_prints_no_json(workdir: Path) -> None:
    rt = runtime(workdir, collect=StubCollector(error=TokenMissing("no token in $GITHUB_TOKEN")))
    res = invoke(rt, "collect", "--json")
    assert res.exit_code == 5
    assert res.stdout == ""
    assert one_line(res.stderr) == "error: no token in $GITHUB_TOKEN"


@dataclass
class AskingCollector(StubCollector):
    """Asks before starting over, as the collector does when --force would remove data."""

    def __call__(
        self,
        config: Config,
        request: CollectRequest,
        *,
        environ: Mapping[str, str],
        events: EventSink,
        command: str,
        install_signals: bool = True,
        confirm: Callable[[StartDecision], bool] | None = None,
    ) -> CollectResult:
        assert confirm is not None
        decision = StartDecision(
            "start_over", "--force: starting over", (Path("pulls/acme__web.jsonl"),), 2048
        )
        if not confirm(decision):
            return result(outcome="cancelled", failures=())
        return super().__call__(
            config, request, environ=environ, events=events, command=command,
            install_signals=install_signals, confirm=confirm,
        )  # fmt: skip


@pytest.mark.parametrize(("answer", "outcome"), [("n\n", "cancelled"), ("y\n", "complete")])
def test_collect_force_json_asks_on_stderr_and_keeps_stdout_json(
    workdir: Path, answer: str, outcome: str
) -> None:
    rt = runtime(workdir, collect=AskingCollector(result=result()), interactive=lambda: True)
    res = invoke(rt, "collect", "--force", "--json", input=answer)
    assert res.exit_code == 0
    assert res.stdout.count("\n") == 1
    assert orjson.loads(res.stdout)["outcome"] == outcome
    assert res.stderr.splitlines() == [
        "--force: starting over — this removes 1 data files (2.0 KiB) in "
        f"{PathManager(load_config(workdir / 'config.yaml', cwd=workdir)).target_dir}",
        "remove them and start over? [y/N]: ",
    ]


def test_collect_force_asks_on_stdout_without_json(workdir: Path) -> None:
    rt = runtime(workdir, collect=AskingCollector(result=result()), interactive=lambda: True)
    res = invoke(rt, "collect", "--force", input="n\n")
    assert res.exit_code == 0
    assert "remove them and start over? [y/N]" in res.stdout
    assert "cancelled — nothing was removed, nothing collected" in res.stdout


# --- status / reset / unlock on real checkpoints ---------------------------------------------


def build_checkpoint(config: Config) -> None:
    paths = PathManager(config)
    with CheckpointManager(
        paths.checkpoint_path,
        paths.lock_path,
        journal_path=paths.journal_path,
        command="ghye collect",
    ) as cm:
        cm.create_new(config)
        cm.update_repos([{"full_name": "acme/api"}, {"full_name": "acme/web"}])
        for repo, endpoint in (("acme/api", "pulls"), ("acme/web", "commits")):
            with JSONLWriter(
                paths.raw_path(endpoint, repo), repo=repo, committed_offset=0
            ) as writer:
                writer.write(source="github_rest", endpoint=endpoint, data={"id": 1})
                offset, lines = writer.flush()
            cm.update_progress(repo, endpoint, 1, 1, offset=offset, lines=lines, complete=True)
        cm.mark_repo_endpoint_failed("acme/api", "commits", "403 Resource not accessible", False)


@pytest.fixture
def collected(workdir: Path) -> Config:
    config = load_config(workdir / "config.yaml", cwd=workdir)
    build_checkpoint(config)
    return config


def test_status_without_checkpoint(workdir: Path) -> None:
    res = invoke(runtime(workdir), "status")
    assert res.exit_code == 2
    target = workdir / "data" / "raw" / "year=2025" / "source=github" / "target=acme"
    assert (
        one_line(res.stderr)
        == f"error: no checkpoint for target acme at {target} — run `ghye collect` first"
    )


def test_status_human(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "status")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "org acme" in out
    assert "2025-01-01 00:00:00 UTC → 2026-01-01 00:00:00 UTC" in out
    assert "free (no collect running)" in out
    assert "2: 1 complete" not in out  # repos: api has a failure, web is missing pulls
    assert "4: 2 complete, 0 unavailable, 1 failed, 0 in progress, 1 pending" in out
    assert "403 Resource not accessible" in out
    assert "not written yet" in out


def test_status_json(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "status", "--json")
    assert res.exit_code == 0
    data = orjson.loads(res.stdout)
    assert data["schema_version"] == 1
    assert data["units"]["total"] == 4
    assert data["failures"][0]["reason"] == "403 Resource not accessible"


class Interrupting:
    """A sleep that lets ``rounds`` refreshes happen, then acts like Ctrl+C."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.slept: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        if len(self.slept) >= self.rounds:
            raise KeyboardInterrupt


def test_status_watch_plain_repeats_until_ctrl_c(workdir: Path, collected: Config) -> None:
    sleep = Interrupting(2)
    res = invoke(runtime(workdir, sleep=sleep), "status", "--watch", "--interval", "7")
    assert res.exit_code == 0
    assert res.stdout.count("per endpoint") == 2
    assert sleep.slept == [7.0, 7.0]


def test_status_watch_json_prints_one_object_per_refresh(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir, sleep=Interrupting(3)), "status", "--json", "--watch")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    assert all(orjson.loads(line)["schema_version"] == 1 for line in lines)


def test_status_watch_live_on_a_terminal(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir, sleep=Interrupting(2), force_terminal=True), "status", "-w")
    assert res.exit_code == 0
    assert "per endpoint" in res.stdout


def test_reset_off_a_terminal_needs_yes(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "reset", "--repo", "acme/api")
    assert res.exit_code == 2
    assert one_line(res.stderr) == "error: reset would remove 1 files; rerun with --yes to confirm"
    assert PathManager(collected).raw_path("pulls", "acme/api").exists()


def test_reset_with_yes(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "reset", "--repo", "acme/api", "--yes")
    assert res.exit_code == 0, res.output
    assert "reset units of repo acme/api: removed 1 files, 2 units back to pending" in res.stdout
    assert "continue with `ghye resume`" in res.stdout
    assert not PathManager(collected).raw_path("pulls", "acme/api").exists()


def test_reset_dry_run_lists_and_changes_nothing(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "reset", "--dry-run")
    assert res.exit_code == 0
    assert "would remove 4 files" in res.stdout
    for name in (
        "checkpoint.journal",
        "checkpoint.json",
        "commits/acme__web.jsonl",
        "pulls/acme__api.jsonl",
    ):
        assert f"\n  {name}\n" in res.stdout
    assert "dry run: nothing changed" in res.stdout
    assert PathManager(collected).checkpoint_path.exists()


def test_reset_asks_on_a_terminal(workdir: Path, collected: Config) -> None:
    rt = runtime(workdir, interactive=lambda: True)
    res = invoke(rt, "reset", "--failed", input="n\n")
    assert res.exit_code == 0
    assert "remove 0 files and reset 1 units?" in res.stdout
    assert "cancelled — nothing changed" in res.stdout
    res = invoke(rt, "reset", "--endpoint", "commits", input="y\n")
    assert res.exit_code == 0
    assert "removed 1 files, 2 units back to pending" in res.stdout


def test_reset_unknown_names_exit_2(workdir: Path, collected: Config) -> None:
    res = invoke(runtime(workdir), "reset", "--repo", "acme/wep", "--yes")
    assert res.exit_code == 2
    assert (
        one_line(res.stderr) == "error: repo acme/wep is not in the plan of target acme — "
        "did you mean acme/web, acme/api?"
    )
    res = invoke(runtime(workdir), "reset", "--endpoint", "comits", "--yes")
    assert res.exit_code == 2
    assert one_line(res.stderr).startswith(
        "error: unknown endpoint 'comits' — did you mean 'commits'?"
    )


def test_reset_while_locked_exits_4(workdir: Path, collected: Config) -> None:
    lock = RunLock(PathManager(collected).lock_path, command="ghye collect")
    lock.acquire()
    try:
        res = invoke(runtime(workdir), "reset", "--yes")
    finally:
        lock.release()
    assert res.exit_code == 4
    assert one_line(res.stderr).startswith(f"error: checkpoint locked by pid {os.getpid()}")


def test_unlock_nothing(workdir: Path) -> None:
    res = invoke(runtime(workdir), "unlock")
    assert res.exit_code == 0
    assert res.stdout.startswith("nothing to unlock: no lock held on ")


def test_unlock_stale_says_whose(workdir: Path, collected: Config) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    pid = int(done.stdout)
    host = socket.gethostname()
    owner = LockOwner(pid=pid, host=host, user="me", command="ghye collect", started_at=T0)
    owner_path(PathManager(collected).lock_path).write_bytes(owner.to_json())
    res = invoke(runtime(workdir), "unlock")
    assert res.exit_code == 0
    assert one_line(res.stdout) == (
        f"removed the lock of pid {pid} on {host} (ghye collect, since 2026-03-01 12:00:00 UTC)"
    )


def test_unlock_refuses_a_live_holder(workdir: Path, collected: Config) -> None:
    lock = RunLock(PathManager(collected).lock_path, command="ghye collect")
    lock.acquire()
    try:
        res = invoke(runtime(workdir), "unlock")
        forced = invoke(runtime(workdir), "unlock", "--force")  # never removes a running holder
        assert lock.owner is not None
        assert read_owner(lock.lock_path) == lock.owner
    finally:
        lock.release()
    assert res.exit_code == 4
    assert one_line(res.stderr).startswith(f"error: the lock holder, pid {os.getpid()} on ")
    assert forced.exit_code == 4
    assert forced.stderr == res.stderr
    assert "a running holder is never unlocked" in forced.stderr
    assert "--force" not in forced.stderr


def test_typer_exit_is_not_an_internal_error() -> None:
    # Sanity: the group lets Typer's own exits through untouched.
    assert issubclass(typer.Exit, RuntimeError)


@dataclass
class LoggingCollector(StubCollector):
    """Logs like the library does, then behaves as the stub."""

    def __call__(
        self,
        config: Config,
        request: CollectRequest,
        *,
        environ: Mapping[str, str],
        events: EventSink,
        command: str,
        install_signals: bool = True,
        confirm: Callable[[StartDecision], bool] | None = None,
    ) -> CollectResult:
        log = logging.getLogger("gh_year_end.github.ratelimit")
        log.warning("reset lies too far ahead")
        log.debug("sleeping 1.5 s")
        return super().__call__(
            config, request, environ=environ, events=events, command=command,
            install_signals=install_signals, confirm=confirm,
        )  # fmt: skip


@pytest.mark.parametrize("verbose", [False, True])
def test_library_logging_goes_to_stderr_for_the_command_only(workdir: Path, verbose: bool) -> None:
    logger = logging.getLogger("gh_year_end")
    level, handlers = logger.level, list(logger.handlers)
    rt = runtime(workdir, collect=LoggingCollector(result=result()))
    res = invoke(rt, *(["-v"] if verbose else []), "collect", "-q")
    assert res.exit_code == 0
    assert "WARNING gh_year_end.github.ratelimit: reset lies too far ahead" in res.stderr
    assert ("DEBUG gh_year_end.github.ratelimit: sleeping 1.5 s" in res.stderr) is verbose
    assert (logger.level, logger.handlers) == (level, handlers)


def test_status_flags_a_changed_config(workdir: Path, collected: Config) -> None:
    (workdir / "config.yaml").write_text(
        config_text().replace("commits: true", "commits: false"), encoding="utf-8"
    )
    res = invoke(runtime(workdir), "status")
    assert res.exit_code == 0
    assert "changed since the checkpoint: collection.enable.commits" in " ".join(res.stdout.split())
