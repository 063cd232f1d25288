"""Library log records on stderr while one command runs: warnings, or everything with --verbose."""

from __future__ import annotations

import logging

import typer

from gh_year_end.cli.runtime import safe_stderr


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Logs to whatever sys.stderr is when the record is emitted (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = safe_stderr()
        super().emit(record)


def configure_logging(ctx: typer.Context, verbose: bool) -> None:
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
