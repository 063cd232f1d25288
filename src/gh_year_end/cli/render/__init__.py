"""Pure renderers: the library's frozen results → Rich renderables, console lines or JSON data.

No renderer decides where output goes or how a command ends; the command does.
"""

from __future__ import annotations

from gh_year_end.cli.render.collect import (
    collect_result_json,
    failures_table,
    render_collect_result,
    render_start_over,
)
from gh_year_end.cli.render.manage import (
    render_reset_plan,
    render_reset_result,
    render_unlock_result,
    render_verify,
)
from gh_year_end.cli.render.plan import render_plan
from gh_year_end.cli.render.status import render_status

__all__ = [
    "collect_result_json",
    "failures_table",
    "render_collect_result",
    "render_plan",
    "render_reset_plan",
    "render_reset_result",
    "render_start_over",
    "render_status",
    "render_unlock_result",
    "render_verify",
]
