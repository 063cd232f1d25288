"""The commands: each parses its options, calls one library function, renders its result.

Errors are not caught here (the group in :mod:`gh_year_end.cli.app` maps them once); a command
ends by returning (exit 0) or by ``typer.Exit`` with its result's code. The library is imported
inside each command, so ``ghye --help`` stays fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gh_year_end.cli.options import (
    CollectJsonOption,
    ConfigOption,
    JsonOption,
    QuietOption,
    VerboseOption,
    command_runtime,
)
from gh_year_end.cli.progress import open_progress
from gh_year_end.cli.render import (
    collect_result_json,
    render_collect_result,
    render_plan,
    render_reset_plan,
    render_reset_result,
    render_start_over,
    render_status,
    render_unlock_result,
    render_verify,
)
from gh_year_end.cli.runtime import Runtime
from gh_year_end.cli.watch import watch_status
from gh_year_end.config import Config
from gh_year_end.endpoints import ENDPOINT_NAMES
from gh_year_end.errors import EXIT_INCOMPLETE, EXIT_OK, ConfirmationRequired
from gh_year_end.storage.paths import PathManager

if TYPE_CHECKING:
    from gh_year_end.collect.run import CollectRequest
    from gh_year_end.collect.start import StartDecision
    from gh_year_end.manage.reset import ResetPlan

# --- collect / resume -----------------------------------------------------------------------


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
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Bring a collected dataset up to date for the same window: each unit asked "
            "again with its ETag (unchanged: a 304, free of the rate limit), what changed "
            "read since its watermark, each record once in its latest version.",
        ),
    ] = False,
    as_json: CollectJsonOption = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Collect the configured target's year of activity into JSONL files.

    Continues an unfinished run where it stopped; a finished run says "already complete"
    (--refresh brings it up to date). Data found without its checkpoint is never overwritten:
    it is refused (exit 2) unless --force.

    \b
    Examples:
      ghye collect
      ghye collect --refresh
      ghye collect --config config/acme.yaml --force
      ghye collect --json | jq .outcome
    """
    runtime = command_runtime(ctx, verbose=verbose, quiet=quiet)
    from gh_year_end.collect.run import CollectRequest  # noqa: PLC0415
    from gh_year_end.errors import UsageError  # noqa: PLC0415

    if refresh and force:
        raise UsageError(
            "--refresh keeps the collected data and --force removes it — use one of them"
        )
    _collect(
        runtime,
        runtime.load_config(config),
        CollectRequest(force=force, refresh=refresh),
        command="ghye collect",
        ask=not yes,
        as_json=as_json,
    )


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
    as_json: CollectJsonOption = False,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
) -> None:
    """Continue an interrupted or incomplete run from its checkpoint, at the exact page.

    Fails (exit 2) when there is no checkpoint to continue.

    \b
    Examples:
      ghye resume
      ghye resume --from-repo acme/web --retry-failed
      ghye resume --json > result.json
    """
    runtime = command_runtime(ctx, verbose=verbose, quiet=quiet)
    from gh_year_end.collect.run import CollectRequest  # noqa: PLC0415

    request = CollectRequest(resume=True, from_repo=from_repo, retry_failed=retry_failed)
    _collect(runtime, runtime.load_config(config), request, command="ghye resume", as_json=as_json)


def _collect(
    runtime: Runtime,
    config: Config,
    request: CollectRequest,
    *,
    command: str,
    ask: bool = False,
    as_json: bool = False,
) -> NoReturn:
    """Run the collector with a progress display, render its result, exit with its code.

    With ``--json``: no progress display, the question ``--force`` asks goes to stderr, and
    stdout gets the result's JSON object and nothing else.
    """
    out = runtime.stdout()
    target_dir = PathManager(config).target_dir
    with open_progress(
        out,
        quiet=runtime.quiet or as_json,
        interval=runtime.progress_interval,
        clock=runtime.clock,
    ) as events:

        def confirm(decision: StartDecision) -> bool:
            """On a terminal, --force asks before it removes collected data (as reset does)."""
            if not ask or not runtime.interactive():
                return True
            with events.paused():
                render_start_over(
                    runtime.stderr() if as_json else out, decision, target_dir=target_dir
                )
                return runtime.confirm("remove them and start over?", on_stderr=as_json)

        result = runtime.run_collect()(
            config,
            request,
            environ=runtime.environ,
            events=events,
            command=command,
            install_signals=runtime.install_signals,
            confirm=confirm,
        )
    if as_json:
        runtime.write_json(collect_result_json(result, target_dir=target_dir))
    else:
        render_collect_result(out, result, target_dir=target_dir)
    raise typer.Exit(result.exit_code)


# --- plan -----------------------------------------------------------------------------------


def plan(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Before collecting: what a collect would collect and what it would cost.

    The repositories after the discovery filters, what each holds in the window (pull requests,
    issues, commits), the requests per endpoint on each budget (REST requests, GraphQL points)
    — each figure exact or a floor — and how long the credentials' current budgets would make
    a collect wait for resets. Costs discovery's listing (none when the checkpoint already
    holds it) and a GraphQL point per 21 repositories; saves estimate.json, which
    `ghye status` reads its ETA from. Never touches the checkpoint or the data.

    \b
    Examples:
      ghye plan
      ghye plan --json | jq '.requests.total'
      ghye plan --config config/acme.yaml
    """
    runtime = command_runtime(ctx, verbose=verbose)
    from gh_year_end.manage.plan import build_plan  # noqa: PLC0415

    report = build_plan(runtime.load_config(config), environ=runtime.environ)
    if as_json:
        runtime.write_json(report.to_dict())
    else:
        render_plan(runtime.stdout(), report)


# --- status, reset, verify, unlock ---------------------------------------------------------


def status(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    as_json: JsonOption = False,
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
    runtime = command_runtime(ctx, verbose=verbose)
    from gh_year_end.manage.status import build_status  # noqa: PLC0415

    cfg = runtime.load_config(config)
    if watch:
        watch_status(runtime, lambda: build_status(cfg), as_json=as_json, interval=interval)
        return
    report = build_status(cfg)
    if as_json:
        runtime.write_json(report.to_dict())
    else:
        runtime.stdout().print(render_status(report))


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
            help=f"Only this endpoint ({', '.join(ENDPOINT_NAMES)}); with --repo, only that unit.",
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
    estimate.json, repos.jsonl and every raw file). Otherwise the chosen units' JSONL files are
    removed and the units go back to pending; the manifest is removed (it no longer describes
    the data).
    Resetting pulls also resets reviews (they are read from the pulls file).
    Asks first on a terminal; elsewhere needs --yes. Refuses while a collect holds the lock.

    \b
    Examples:
      ghye reset --dry-run
      ghye reset --repo acme/web --endpoint commits
      ghye reset --failed --yes
    """
    runtime = command_runtime(ctx, verbose=verbose)
    from gh_year_end.manage.reset import ResetRequest, plan_reset, reset_data  # noqa: PLC0415

    cfg = runtime.load_config(config)
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
        return runtime.confirm(f"remove {plan.file_count} files and reset {len(plan.units)} units?")

    result = reset_data(cfg, request, confirm=confirm, command="ghye reset")
    render_reset_result(out, result)


def verify(
    ctx: typer.Context,
    *,
    config: ConfigOption = None,
    as_json: JsonOption = False,
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
    runtime = command_runtime(ctx, verbose=verbose)
    from gh_year_end.manage.verify import verify as verify_dataset  # noqa: PLC0415

    report = verify_dataset(runtime.load_config(config))
    if as_json:
        runtime.write_json(report.to_dict())
    else:
        render_verify(runtime.stdout(), report)
    raise typer.Exit(EXIT_OK if report.holds else EXIT_INCOMPLETE)


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
    runtime = command_runtime(ctx, verbose=verbose)
    from gh_year_end.manage.unlock import unlock_target  # noqa: PLC0415

    result = unlock_target(runtime.load_config(config), force=force)
    render_unlock_result(runtime.stdout(), result)


COMMANDS: tuple[Callable[..., None], ...] = (
    plan,
    collect,
    resume,
    status,
    reset,
    verify,
    unlock,
)
"""Every command, in the order ``ghye --help`` lists them."""
