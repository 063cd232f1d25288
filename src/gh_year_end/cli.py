"""The ghye command line: each command parses, calls one library function, renders its result.

Errors are caught once, here (:class:`_Group`): a :class:`GhyeError` becomes one red line on
stderr and its exit code; anything else is a bug — one line, exit 1, the traceback with
``--verbose``. What the commands need from the outside world (environment, current folder,
terminal detection, the collector itself, sleep) is a :class:`Runtime` passed as Typer's context
object, so tests hand in their own instead of patching.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn, Protocol, TextIO, cast

import orjson
import typer
from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from gh_year_end import __version__
from gh_year_end.collect.events import CollectResult, EventSink, UnitFailure
from gh_year_end.collect.progress import format_duration, open_progress
from gh_year_end.config import Config, load_config
from gh_year_end.errors import (
    EXIT_BUG,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_SIGINT,
    ConfigNotFound,
    ConfirmationRequired,
    GhyeError,
    Interrupted,
)
from gh_year_end.storage.paths import PathManager

if TYPE_CHECKING:
    from gh_year_end.collect.collector import CollectRequest
    from gh_year_end.collect.start import StartDecision
    from gh_year_end.manage.reset import ResetPlan, ResetResult
    from gh_year_end.manage.status import StatusReport
    from gh_year_end.manage.unlock import UnlockResult
    from gh_year_end.manage.verify import VerifyReport

CONFIG_ENV: Final = "GHYE_CONFIG"
DEFAULT_CONFIG_PLACES: Final = (Path("config.yaml"), Path("config") / "config.yaml")
MAX_FAILURE_ROWS: Final = 25

EXIT_CODES_HELP: Final = """\
\b
Exit codes:
  0    every repo×endpoint complete or permanently unavailable (recorded)
  2    usage or configuration error (also: resume without a checkpoint,
       unknown --from-repo, reset off a terminal without --yes, data
       without a checkpoint)
  3    units not done (failures, units skipped), nothing at all readable,
       or `verify` found a problem
  4    another live process holds the lock
  5    authentication failed (no token, or 401)
  129  interrupted by SIGHUP; progress saved — continue with `ghye resume`
  130  interrupted by SIGINT; progress saved — continue with `ghye resume`
  143  interrupted by SIGTERM; progress saved — continue with `ghye resume`
"""

log = logging.getLogger(__name__)


class CollectFunction(Protocol):
    """The collector's entry point (``gh_year_end.collect.collector.run_collect``)."""

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
        """Run a collect or resume."""
        ...


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


_GONE_READER: Final = frozenset({errno.EPIPE, errno.EIO})


class ReaderSafeStream:
    """A text stream whose reader may go away: ``ghye status | head -1``, a closed terminal.

    When a write or flush fails because nobody reads any more (EPIPE, or EIO from a hung-up
    terminal), the descriptor is pointed at /dev/null and every later write succeeds quietly:
    the command finishes its work (a collect keeps collecting) and exits with its own code,
    instead of a bug's exit 1 from a BrokenPipeError.
    """

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.reader_gone = False

    def write(self, text: str) -> int:
        """Write, unless the reader is gone."""
        if not self.reader_gone:
            try:
                return self._inner.write(text)
            except OSError as exc:
                self._gone(exc)
        return len(text)

    def flush(self) -> None:
        """Flush, unless the reader is gone."""
        if not self.reader_gone:
            try:
                self._inner.flush()
            except OSError as exc:
                self._gone(exc)

    def isatty(self) -> bool:
        """Whether the stream is a terminal (False once its reader is gone)."""
        try:
            return not self.reader_gone and self._inner.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        """The underlying descriptor."""
        return self._inner.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _gone(self, exc: OSError) -> None:
        if exc.errno not in _GONE_READER:
            raise exc
        self.reader_gone = True
        try:  # later writes, and the interpreter's own flush at exit, go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._inner.fileno())
            finally:
                os.close(devnull)
        except (OSError, ValueError):
            pass


def _stdout() -> TextIO:
    return _safe(sys.stdout)


def _stderr() -> TextIO:
    return _safe(sys.stderr)


def _safe(stream: TextIO) -> TextIO:
    """``stream`` wrapped (looked up by the caller each time: test runners swap the streams).

    No state is shared between wrappers: once one found the reader gone, the descriptor points
    at /dev/null and every later write through any of them succeeds.
    """
    # It has every method a TextIO consumer here calls (write, flush, isatty, fileno, …).
    return cast("TextIO", ReaderSafeStream(stream))


@dataclass
class Runtime:
    """Everything a command takes from the outside world; built by :func:`main`, or by a test."""

    environ: Mapping[str, str]
    cwd: Path
    collect: CollectFunction | None = None  # None → the real collector, imported when needed
    interactive: Callable[[], bool] = _stdin_is_terminal  # may a command ask a question?
    force_terminal: bool | None = None  # None → Rich decides from stdout
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    progress_interval: float = 5.0
    install_signals: bool = True
    verbose: bool = False
    quiet: bool = False

    @classmethod
    def from_process(cls) -> Runtime:
        """The real process: its environment and current folder."""
        return cls(environ=os.environ, cwd=Path.cwd())

    def stdout(self) -> Console:
        """A console on the current stdout (looked up now: test runners swap it)."""
        return Console(file=_stdout(), force_terminal=self.force_terminal, highlight=False)

    def run_collect(self) -> CollectFunction:
        """The collector to call."""
        if self.collect is not None:
            return self.collect
        from gh_year_end.collect.collector import run_collect  # noqa: PLC0415 — keeps --help fast

        return run_collect


# --- error handling: once, here -------------------------------------------------------------


class _Group(TyperGroup):
    """Turns every exception of a command into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; map errors to exit codes."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # Typer's own: usage errors (exit 2), explicit exits, a closed pipe
        except KeyboardInterrupt:
            raise typer.Exit(EXIT_SIGINT) from None
        except GhyeError as exc:
            verbose = _verbose(ctx)
            if verbose:
                _print_traceback(exc)
            _error_line(f"error: {exc}")
            code = exc.signal_exit_code if isinstance(exc, Interrupted) else exc.exit_code
            raise typer.Exit(code) from None
        except Exception as exc:  # noqa: BLE001 — the one place a bug becomes exit 1
            verbose = _verbose(ctx)
            if verbose:
                _print_traceback(exc)
                _error_line(f"internal error: {type(exc).__name__}: {exc}")
            else:
                _error_line(
                    f"internal error: {type(exc).__name__}: {exc} — "
                    "rerun with --verbose for the traceback"
                )
            raise typer.Exit(EXIT_BUG) from None


def _verbose(ctx: Any) -> bool:
    obj = getattr(ctx, "obj", None)
    return isinstance(obj, Runtime) and obj.verbose


def _error_line(text: str) -> None:
    Console(file=_stderr(), highlight=False).print(Text(text, style="red"), soft_wrap=True)


def _print_traceback(exc: BaseException) -> None:
    _stderr().write("".join(traceback.format_exception(exc)))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to whatever sys.stderr is when the record is emitted (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = _stderr()
        super().emit(record)


def _configure_logging(ctx: typer.Context, verbose: bool) -> None:
    """Library log records (warnings; everything with --verbose) → stderr, for this command only:
    the handler and level are undone when the command's context closes."""
    logger = logging.getLogger("gh_year_end")
    previous_level = logger.level
    for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
        logger.removeHandler(old)
    handler = _StderrHandler()
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.DEBUG)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)

    ctx.find_root().call_on_close(restore)


# --- the app --------------------------------------------------------------------------------

app = typer.Typer(
    name="ghye",
    cls=_Group,
    help="Collect a GitHub organization's (or user's) year of activity into JSONL files — "
    "resumable at the exact page after any interruption.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="The YAML config. Default: $GHYE_CONFIG, else ./config.yaml, "
        "else ./config/config.yaml.",
        show_default=False,
        dir_okay=False,
    ),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Debug logging, and tracebacks with errors.")
]
QuietOption = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress display (errors and the summary still print)."),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ghye {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    ctx: typer.Context,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Collect a GitHub organization's (or user's) year of activity into JSONL files."""
    runtime = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime.from_process()
    ctx.obj = runtime
    runtime.verbose = runtime.verbose or verbose
    runtime.quiet = runtime.quiet or quiet
    _configure_logging(ctx, runtime.verbose)


def _runtime(ctx: typer.Context, *, verbose: bool = False, quiet: bool = False) -> Runtime:
    """The context's Runtime, with a command's own --verbose/--quiet folded in."""
    runtime = ctx.obj
    if not isinstance(runtime, Runtime):  # a command invoked outside the group (not via ghye)
        runtime = Runtime.from_process()
        ctx.obj = runtime
    if verbose and not runtime.verbose:
        runtime.verbose = True
        _configure_logging(ctx, True)
    runtime.quiet = runtime.quiet or quiet
    return runtime


def locate_config(explicit: Path | None, *, environ: Mapping[str, str], cwd: Path) -> Path:
    """``--config``, else $GHYE_CONFIG, else ./config.yaml, else ./config/config.yaml."""
    if explicit is not None:
        return explicit if explicit.is_absolute() else cwd / explicit
    from_env = environ.get(CONFIG_ENV, "").strip()
    if from_env:
        try:
            path = Path(from_env).expanduser()
        except RuntimeError:  # ~someone with no such user, or ~ with no home folder at all
            raise ConfigNotFound(
                f"${CONFIG_ENV} is '{from_env}', whose home folder cannot be found — "
                "set it to the full path of the YAML file"
            ) from None
        return path if path.is_absolute() else cwd / path
    for place in DEFAULT_CONFIG_PLACES:
        if (cwd / place).is_file():
            return cwd / place
    looked = ", ".join(f"./{p.as_posix()}" for p in DEFAULT_CONFIG_PLACES)
    raise ConfigNotFound(
        f"no config file found — looked at --config (not given), ${CONFIG_ENV} (not set), {looked} "
        f"in {cwd}; copy config/config.example.yaml to ./config.yaml, or pass --config PATH"
    )


def _load(runtime: Runtime, explicit: Path | None) -> Config:
    path = locate_config(explicit, environ=runtime.environ, cwd=runtime.cwd)
    log.debug("config: %s", path)
    return load_config(path, cwd=runtime.cwd)


# --- collect / resume -----------------------------------------------------------------------


@app.command()
def collect(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Start over: remove this target's checkpoint and raw data — after checking the "
            "token and the target, and on a terminal after asking (also the way past a changed "
            "config, or past data found without a checkpoint).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="With --force: do not ask before removing data.")
    ] = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Collect the configured target's year of activity into JSONL files.

    Continues an unfinished run where it stopped; a finished run says "already complete".
    Data found without its checkpoint is never overwritten: it is refused (exit 2) unless
    --force.

    \b
    Examples:
      ghye collect
      ghye collect --config config/acme.yaml --force
    """
    runtime = _runtime(ctx, verbose=verbose, quiet=quiet)
    from gh_year_end.collect.collector import CollectRequest  # noqa: PLC0415

    _collect(
        runtime,
        _load(runtime, config),
        CollectRequest(force=force),
        command="ghye collect",
        ask=not yes,
    )


@app.command()
def resume(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    from_repo: Annotated[
        str | None,
        typer.Option(
            "--from-repo",
            metavar="OWNER/NAME",
            help="Work only on that repo and the ones after it in plan order.",
        ),
    ] = None,
    retry_failed: Annotated[
        bool,
        typer.Option("--retry-failed", help="Also retry units that failed permanently."),
    ] = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Continue an interrupted or incomplete run from its checkpoint, at the exact page.

    Fails (exit 2) when there is no checkpoint to continue.

    \b
    Examples:
      ghye resume
      ghye resume --from-repo acme/web --retry-failed
    """
    runtime = _runtime(ctx, verbose=verbose, quiet=quiet)
    from gh_year_end.collect.collector import CollectRequest  # noqa: PLC0415

    request = CollectRequest(resume=True, from_repo=from_repo, retry_failed=retry_failed)
    _collect(runtime, _load(runtime, config), request, command="ghye resume")


def _collect(
    runtime: Runtime, config: Config, request: CollectRequest, *, command: str, ask: bool = False
) -> NoReturn:
    out = runtime.stdout()
    with open_progress(
        out, quiet=runtime.quiet, interval=runtime.progress_interval, clock=runtime.clock
    ) as events:

        def confirm(decision: StartDecision) -> bool:
            """On a terminal, --force asks before it removes collected data (as reset does)."""
            if not ask or not runtime.interactive():
                return True
            with events.paused():
                _one_line(out)(
                    f"{decision.message} — this removes {len(decision.data_files):,} data files "
                    f"({_size(decision.data_bytes)}) in {PathManager(config).target_dir}"
                )
                return typer.confirm("remove them and start over?", default=False)

        result = runtime.run_collect()(
            config,
            request,
            environ=runtime.environ,
            events=events,
            command=command,
            install_signals=runtime.install_signals,
            confirm=confirm,
        )
    render_collect_result(out, result, target_dir=PathManager(config).target_dir)
    raise typer.Exit(result.exit_code)


def render_collect_result(console: Console, result: CollectResult, *, target_dir: Path) -> None:
    """The summary of a collect/resume run."""
    line = _one_line(console)
    refused = _refusals(result.failures)
    if result.outcome == "cancelled":
        line("cancelled — nothing was removed, nothing collected")
        return
    if result.outcome == "interrupted":
        line("interrupted — progress saved; continue with `ghye resume`", "yellow")
    elif result.outcome == "unreadable":
        line(
            f"nothing could be read — target {result.target}: "
            + (refused or "every unit was refused")
            + " — the dataset is empty; fix access, then `ghye resume --retry-failed`",
            "red",
        )
    elif result.outcome == "already_complete":
        line(f"already complete — target {result.target}: nothing to collect", "green")
    elif result.outcome == "complete":
        line(f"complete — target {result.target}" + (f" ({refused})" if refused else ""), "green")
    else:
        line(f"incomplete — target {result.target}: some units are not done", "yellow")
    line(
        f"units: {result.units_complete:,} complete, {result.units_unavailable:,} unavailable, "
        f"{result.units_failed:,} failed, {result.units_pending:,} pending "
        f"(of {result.units_total:,})"
    )
    if result.outcome != "already_complete":
        line(
            f"records: {result.records_this_run:,} this run, {result.records_total:,} in all · "
            f"pages: {result.pages_this_run:,} · requests: {result.requests:,}"
            + (f" ({result.rate_limit_hits:,} rate-limited)" if result.rate_limit_hits else "")
            + f" · elapsed {format_duration(result.elapsed_seconds)}"
        )
    else:
        line(f"records: {result.records_total:,} in all")
    for reason in result.refused:
        line(f"not collected: {reason}", "yellow")
    if result.failures:
        console.print(failures_table(result.failures))
    line(f"data: {target_dir}")
    if result.manifest_path is not None:
        line(f"manifest: {result.manifest_path}")
    for hint in _next_steps(result):
        line(hint, "dim")


def _next_steps(result: CollectResult) -> list[str]:
    if result.outcome in ("interrupted", "complete", "unreadable"):
        return []
    hints: list[str] = []
    if result.outcome == "already_complete":
        hints.append("`ghye collect --force` or `ghye reset` starts over")
    retryable = any(f.retryable and not f.unavailable for f in result.failures)
    permanent = any(not f.retryable and not f.unavailable for f in result.failures)
    if result.units_pending or retryable:
        hints.append("continue with `ghye resume`")
    if permanent:
        hints.append("`ghye resume --retry-failed` tries the permanently failed units again")
    return hints


# What a status code says about a unit that GitHub would not give, and its likely cause.
_UNAVAILABLE: Final[dict[int | None, tuple[str, str]]] = {
    403: (
        "refused access (403)",
        "the token may lack a scope or permission, or SAML SSO authorization for the org",
    ),
    404: ("gone or hidden (404)", "removed, renamed, or not visible to the token"),
    410: ("gone (410)", "e.g. issues disabled in the repository"),
    451: ("blocked for legal reasons (451)", "a DMCA takedown or similar"),
}


def _unavailable_text(status: int | None) -> str:
    return _UNAVAILABLE.get(status, ("unavailable", ""))[0]


def _refusals(failures: Sequence[UnitFailure]) -> str:
    """`3 repositories refused access (403) — the token may lack …; 1 gone or hidden (404) …`"""
    repos: dict[int | None, set[str]] = defaultdict(set)
    for failure in failures:
        if failure.unavailable:
            repos[failure.http_status].add(failure.repo)
    parts: list[str] = []
    for status, names in sorted(repos.items(), key=lambda kv: (-len(kv[1]), kv[0] or 0)):
        what, cause = _UNAVAILABLE.get(status, ("unavailable", ""))
        noun = "repository" if len(names) == 1 else "repositories"
        parts.append(f"{len(names):,} {noun} {what}" + (f" — {cause}" if cause else ""))
    return "; ".join(parts)


def failures_table(failures: Sequence[UnitFailure]) -> Table:
    """Units that did not complete, one row per repository and reason (failures first).

    A repository that is gone is one row, not one per endpoint; a failure's full reason (its
    URL included) stays in the row, the unavailable ones say what GitHub answered. Every unit's
    own detail is in `ghye status --json`.
    """
    groups: dict[tuple[bool, str, str, bool], list[str]] = {}
    for failure in failures:
        what = _unavailable_text(failure.http_status) if failure.unavailable else failure.reason
        key = (failure.unavailable, failure.repo, what, failure.retryable)
        groups.setdefault(key, []).append(failure.endpoint)
    table = Table(title="units that did not complete", title_justify="left", expand=False)
    table.add_column("repo", overflow="fold")
    table.add_column("endpoints", overflow="fold")
    table.add_column("what happened", overflow="fold")
    table.add_column("retry")
    rows = sorted(groups.items())
    for (unavailable, repo, what, retryable), endpoints in rows[:MAX_FAILURE_ROWS]:
        retry = "resume" if retryable else ("no" if unavailable else "--retry-failed")
        table.add_row(repo, ", ".join(endpoints), what, retry)
    if len(rows) > MAX_FAILURE_ROWS:
        table.add_row(
            f"… and {len(rows) - MAX_FAILURE_ROWS:,} more — see `ghye status --json`", "", "", ""
        )
    return table


# --- status ---------------------------------------------------------------------------------


@app.command()
def status(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object (schema in docs/cli.md), nothing else.")
    ] = False,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Refresh until Ctrl+C (which exits 0).")
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", min=0.1, metavar="SECONDS", help="Seconds between refreshes with --watch."
        ),
    ] = 2.0,
    verbose: VerboseOption = False,
) -> None:
    """Show a target's progress from its checkpoint, without taking the lock.

    Safe while a collect runs: phases, repos by status, pages and records per endpoint,
    failures, who holds the lock, last update, throughput, ETA, and whether a manifest exists.

    \b
    Examples:
      ghye status
      ghye status --json | jq .units
      ghye status --watch --interval 5
    """
    runtime = _runtime(ctx, verbose=verbose)
    from gh_year_end.manage.status import build_status  # noqa: PLC0415

    cfg = _load(runtime, config)
    out = runtime.stdout()
    if not watch:
        report = build_status(cfg)
        if as_json:
            _print_json(report)
        else:
            out.print(render_status(report))
        return
    try:
        if as_json:
            while True:
                _print_json(build_status(cfg))
                runtime.sleep(interval)
        elif out.is_terminal:
            with Live(render_status(build_status(cfg)), console=out, auto_refresh=False) as live:
                while True:
                    runtime.sleep(interval)
                    live.update(render_status(build_status(cfg)), refresh=True)
        else:
            while True:
                out.print(render_status(build_status(cfg)))
                out.print()
                runtime.sleep(interval)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_OK) from None


def _print_json(report: StatusReport) -> None:
    stream = _stdout()
    stream.write(orjson.dumps(report.to_dict()).decode() + "\n")
    stream.flush()


def render_status(report: StatusReport) -> RenderableType:
    """The human view of a StatusReport."""
    parts: list[RenderableType] = []
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("target", f"{report.target_mode} {report.target} ({report.target_dir})")
    head.add_row("window", f"{_iso(report.since)} → {_iso(report.until)} (year {report.year})")
    updated = _iso(report.updated_at) if report.updated_at else "never"
    head.add_row("last update", updated)
    done_phases = [p for p, complete in report.phases if complete]
    phases = ", ".join(done_phases) if done_phases else "none"
    current = (
        f"; current: {report.current_phase}"
        if report.current_phase and report.current_phase not in done_phases
        else ""
    )
    head.add_row("phases done", phases + current)
    head.add_row("lock", _lock_text(report))
    if report.config_changed:
        head.add_row(
            "config",
            Text(
                "changed since the checkpoint: "
                + ", ".join(report.config_changed)
                + " — `ghye resume` will refuse; `ghye collect --force` starts over",
                style="yellow",
            ),
        )
    r = report.repos
    head.add_row(
        "repos",
        f"{r.total:,}: {r.complete:,} complete, {r.in_progress:,} in progress, "
        f"{r.pending:,} pending, {r.failed:,} with failures",
    )
    u = report.units
    head.add_row(
        "units",
        f"{u.total:,}: {u.complete:,} complete, {u.unavailable:,} unavailable, "
        f"{u.failed:,} failed, {u.in_progress:,} in progress, {u.pending:,} pending",
    )
    head.add_row("throughput", _throughput_text(report))
    head.add_row("ETA", _eta_text(report))
    head.add_row(
        "manifest", str(report.manifest_path) if report.manifest_path else "not written yet"
    )
    parts.append(head)

    # No cell padding (SIMPLE_HEAD separates columns by a space): eight columns of large
    # numbers still fit 80 characters, the width of a CI log.
    table = Table(
        title="per endpoint",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 0),
    )
    for name in ("endpoint", "units", "complete", "unavail.", "failed", "pending", "pages"):
        table.add_column(name, justify="left" if name == "endpoint" else "right", no_wrap=True)
    table.add_column("records", justify="right", no_wrap=True)
    for ep in report.endpoints:
        table.add_row(
            ep.endpoint,
            f"{ep.units:,}",
            f"{ep.complete:,}",
            f"{ep.unavailable:,}",
            f"{ep.failed:,}",
            f"{ep.pending + ep.in_progress:,}",
            f"{ep.pages:,}",
            f"{ep.records:,}",
        )
    parts.append(table)
    if report.failures:
        parts.append(failures_table(report.failures))
    return Group(*parts)


def _lock_text(report: StatusReport) -> str:
    lock = report.lock
    if lock.state == "free" and lock.pid is None:
        return "free (no collect running)"
    who = f"pid {lock.pid} on {lock.host}" if lock.pid is not None else "an unknown process"
    since = f", since {_iso(lock.started_at)}" if lock.started_at else ""
    command = f" ({lock.command}{since})" if lock.command else (f" ({since[2:]})" if since else "")
    states = {
        "alive": "held by",
        "stale": "stale — left by",
        "unknown": "held (liveness unknown) by",
        "free": "free; last held by",
    }
    hint = " — `ghye unlock` removes it" if lock.state == "stale" else ""
    return f"{states.get(lock.state, lock.state)} {who}{command}{hint}"


def _throughput_text(report: StatusReport) -> str:
    t = report.throughput
    if t.units_per_minute is None:
        return "unknown (fewer than two units ended recently)"
    text = f"{t.units_per_minute:,.1f} units/min"
    if t.records_per_minute is not None:
        text += f", {t.records_per_minute:,.0f} records/min"
    text += f" (from the last {t.basis_units} units ended)"
    return text if report.running else text + "; no collect running"


def _eta_text(report: StatusReport) -> str:
    if report.units.pending + report.units.in_progress == 0:
        return "nothing left to collect"
    if report.eta_seconds is None:
        return "unknown"
    eta = format_duration(report.eta_seconds)
    return eta if report.running else f"{eta} at the last run's pace (no collect running)"


# --- reset ----------------------------------------------------------------------------------


@app.command()
def reset(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    repo: Annotated[
        str | None, typer.Option("--repo", metavar="OWNER/NAME", help="Only this repository.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            metavar="ENDPOINT",
            help="Only this endpoint (pulls, issues, reviews, issue_comments, review_comments, "
            "commits); with --repo, only that unit.",
        ),
    ] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Only the units that failed.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be removed; change nothing.")
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Remove collected data so it is collected again.

    Without --repo/--endpoint/--failed: the whole target (checkpoint, journal, manifest,
    repos.jsonl and every raw file). Otherwise the chosen units' JSONL files are removed and the
    units go back to pending; the manifest is removed (it no longer describes the data).
    Resetting pulls also resets reviews (they are read from the pulls file).
    Asks first on a terminal; elsewhere needs --yes. Refuses while a collect holds the lock.

    \b
    Examples:
      ghye reset --dry-run
      ghye reset --repo acme/web --endpoint commits
      ghye reset --failed --yes
    """
    runtime = _runtime(ctx, verbose=verbose)
    from gh_year_end.manage.reset import ResetRequest, plan_reset, reset_data  # noqa: PLC0415

    cfg = _load(runtime, config)
    request = ResetRequest(repo=repo, endpoint=endpoint, failed=failed)
    out = runtime.stdout()
    if dry_run:
        plan = plan_reset(cfg, request)
        render_reset_plan(out, plan, dry_run=True)
        return

    def confirm(plan: ResetPlan) -> bool:
        if plan.is_empty or yes:
            return True
        if not runtime.interactive():
            raise ConfirmationRequired(
                f"reset would remove {plan.file_count} files; rerun with --yes to confirm"
            )
        render_reset_plan(out, plan, dry_run=False)
        return typer.confirm(
            f"remove {plan.file_count} files and reset {len(plan.units)} units?", default=False
        )

    result = reset_data(cfg, request, confirm=confirm, command="ghye reset")
    render_reset_result(out, result)


def render_reset_plan(console: Console, plan: ResetPlan, *, dry_run: bool) -> None:
    """What a reset removes."""
    line = _one_line(console)
    if plan.is_empty:
        line(f"nothing to reset: {plan.scope}")
        return
    verb = "would remove" if dry_run else "will remove"
    line(f"reset {plan.scope}: {verb} {plan.file_count} files ({_size(plan.bytes)})")
    for path in plan.files:
        shown = path.relative_to(plan.target_dir) if path.is_relative_to(plan.target_dir) else path
        line(f"  {shown.as_posix()}")
    if plan.units:
        line(f"{'would send' if dry_run else 'sends'} {len(plan.units)} units back to pending:")
        for unit in plan.units:
            note = f" — {unit.note}" if unit.note else ""
            line(f"  {unit.repo} {unit.endpoint} ({unit.status}, {unit.records:,} records){note}")
    if dry_run:
        line("dry run: nothing changed", "dim")


def render_reset_result(console: Console, result: ResetResult) -> None:
    """What a reset did."""
    line = _one_line(console)
    if result.plan.is_empty:
        line(f"nothing to reset: {result.plan.scope}")
    elif not result.applied:
        line("cancelled — nothing changed")
    else:
        line(
            f"reset {result.plan.scope}: removed {result.removed_files} files, "
            f"{result.reset_units} units back to pending"
            + ("; manifest removed" if result.manifest_removed else ""),
            "green",
        )
        if not result.plan.whole_target:
            line("continue with `ghye resume`", "dim")


# --- verify ---------------------------------------------------------------------------------


@app.command()
def verify(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object (schema in docs/cli.md), nothing else.")
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Prove a collected dataset without the network: exit 0 when it holds, 3 naming each problem.

    Every data file against the checkpoint (committed bytes and lines) and the manifest
    (sha256, records); every line valid JSON in ghye's envelope; no record id twice in a unit;
    no torn line; nothing outside the plan. Reads only; safe on a read-only copy and while a
    collect runs (its units in progress are checked up to their last commit).

    \b
    Examples:
      ghye verify
      ghye verify --json | jq .problems
    """
    runtime = _runtime(ctx, verbose=verbose)
    from gh_year_end.manage.verify import verify as verify_dataset  # noqa: PLC0415

    report = verify_dataset(_load(runtime, config))
    if as_json:
        stream = _stdout()
        stream.write(orjson.dumps(report.to_dict()).decode() + "\n")
        stream.flush()
    else:
        render_verify(runtime.stdout(), report)
    raise typer.Exit(EXIT_OK if report.holds else EXIT_INCOMPLETE)


def render_verify(console: Console, report: VerifyReport) -> None:
    """What verify found."""
    line = _one_line(console)
    checked = (
        f"{report.files:,} files, {report.records:,} records, {_size(report.bytes)}; "
        f"{report.units_ended:,} of {report.units:,} units ended; "
        + ("manifest checked" if report.manifest_checked else "no manifest yet")
    )
    if report.running:
        checked += "; a collect is running (its units in progress checked up to their commit)"
    if report.holds:
        line(f"holds — target {report.target}: {checked}", "green")
        return
    line(
        f"{len(report.problems):,} problem(s) — target {report.target} ({report.target_dir}): "
        f"{checked}",
        "red",
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
    table.add_column("file", overflow="fold")
    table.add_column("problem", overflow="fold")
    for problem in report.problems:
        table.add_row(problem.path, problem.what)
    console.print(table)


# --- unlock ---------------------------------------------------------------------------------


@app.command()
def unlock(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=(
                "Also remove a lock whose holder cannot be checked from here (another host, "
                "or a process that never recorded itself) — only if you know it is gone. "
                "A holder running on this host is never removed."
            ),
        ),
    ] = False,
    verbose: VerboseOption = False,
) -> None:
    """Remove a run lock left behind by a crashed collect, and say whose it was.

    Refuses (exit 4) while the holder runs on this host, even with --force: stop it first
    (Ctrl+C lets it save its progress). --force only removes a holder that cannot be checked
    from here (another host, or no owner record). Nothing to unlock → exit 0.

    \b
    Examples:
      ghye unlock
      ghye unlock --force
    """
    runtime = _runtime(ctx, verbose=verbose)
    from gh_year_end.manage.unlock import unlock_target  # noqa: PLC0415

    result = unlock_target(_load(runtime, config), force=force)
    render_unlock_result(runtime.stdout(), result)


def render_unlock_result(console: Console, result: UnlockResult) -> None:
    """What unlock did."""
    line = _one_line(console)
    if not result.removed:
        line(f"nothing to unlock: no lock held on {result.lock_path}")
        return
    if result.state == "free":
        line(f"no lock held on {result.lock_path}; removed an unreadable owner record beside it")
        return
    owner = result.owner
    what = "its record and lock file" if result.lock_file_removed else "its record"
    if owner is None:
        line(
            f"removed the lock at {result.lock_path}, held by a process that left no readable "
            f"owner record — --force removed {what}"
        )
        return
    was = (
        f" — its holder could not be checked from here, so --force removed {what}"
        if result.was_alive
        else ""
    )
    line(
        f"removed the lock of pid {owner.pid} on {owner.host} "
        f"({owner.command or 'unknown command'}, since {_iso(owner.started_at)}){was}"
    )


# --- small renderers ------------------------------------------------------------------------


def _one_line(console: Console) -> Callable[..., None]:
    def line(text: str, style: str = "") -> None:
        console.print(Text(text, style=style), soft_wrap=True)

    return line


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover — the loop always returns


def main(argv: Sequence[str] | None = None) -> None:
    """The ``ghye`` console script (also ``python -m gh_year_end``)."""
    app(args=list(argv) if argv is not None else None, prog_name="ghye", obj=Runtime.from_process())
