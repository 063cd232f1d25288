"""Running the real ghye command line in process, and checking how it refused.

``cli()`` runs the Typer app with CliRunner, the real collector and a Runtime (quicker than a
process, the same code path); ``assert_refused()`` checks the documented contract of a refusal:
its exit code, no traceback, exactly one line on stderr.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gh_year_end.cli import Runtime, app
from harness import TEST_TOKEN, TOKEN_ENV, run_ghye

ENV = {TOKEN_ENV: TEST_TOKEN}


@dataclass(frozen=True)
class Ran:
    """One command's outcome."""

    code: int
    stdout: str
    stderr: str


def cli(
    args: Sequence[str],
    *,
    cwd: Path,
    environ: Mapping[str, str] = ENV,
    interactive: Callable[[], bool] | None = None,
    answers: str | None = None,
) -> Ran:
    """The real ghye app in process: real collector, the given environment, no terminal.

    ``interactive``/``answers``: make the command believe it may ask, and type ``answers``.
    """
    runtime = Runtime(environ=dict(environ), cwd=cwd, install_signals=False)
    if interactive is not None:
        runtime.interactive = interactive
    result = CliRunner().invoke(app, list(args), obj=runtime, prog_name="ghye", input=answers)
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
