"""``python -m gh_year_end.testing.fakegithub``: serve a fake GitHub until SIGINT/SIGTERM.

The options are generated from the fields of :class:`FakeSettings` — a flag per field, its
type, choices and help from the field's type and ``metadata``, its default shown in ``--help``
— so the command line cannot drift from the settings. Only ``--port-file`` is its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Final, Literal, Union, get_args, get_origin, get_type_hints

from gh_year_end.testing.fakegithub.data import iso, parse_moment
from gh_year_end.testing.fakegithub.faults import DEFAULT_FAULT_KINDS, FAULT_KINDS, FAULT_MEANINGS
from gh_year_end.testing.fakegithub.server import FakeGitHub
from gh_year_end.testing.fakegithub.settings import DataSpec, FakeSettings

PROG: Final = "python -m gh_year_end.testing.fakegithub"
_GROUPS: Final = {  # section: (title, description)
    "data": (
        "the data",
        "Every id, timestamp and body follows from these (--seed included). The repo lists\n"
        "(--forks … --admin-repos) take repo indexes: repo-003 is 3; e.g. 1,7; '' for none.",
    ),
    "server": ("the server", None),
    "rate limits": ("rate limits", "Every limit is per account: the tokens of one login share it."),
    "accounts": (
        "accounts and GitHub App",
        "Tokens of more accounts, and a GitHub App: JWTs verified with its public key, an\n"
        "installation on the owner, installation tokens that expire.",
    ),
    "faults": ("faults", "The fault kinds are listed below."),
}
_METAVARS: Final[Mapping[Any, str]] = {int: "N", float: "X", str: "TEXT", datetime: "ISO8601"}


# --- text → value, per type ---------------------------------------------------------------


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _comma_list(convert: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        return tuple(convert(item) for item in _items(text))

    parse.__name__ = "comma-separated list"  # argparse names it in its error message
    return parse


def _pairs(key: Callable[[str], Any], val: Callable[[str], Any]) -> Callable[[str], dict[Any, Any]]:
    def parse(text: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for item in _items(text):
            k, _, v = item.partition("=")
            out[key(k)] = val(v.strip())
        return out

    parse.__name__ = "list of N=VALUE"
    return parse


def _moment(text: str) -> datetime:
    return parse_moment(text)


_moment.__name__ = "ISO 8601 moment"


def _convert(hint: Any) -> Callable[[str], Any]:
    """text → value for a field of type ``hint``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is datetime:
        return _moment
    if hint in (int, float, str):
        return hint  # type: ignore[no-any-return]
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _convert(inner)
    if origin is Literal:
        return type(args[0])
    if origin is tuple:
        return _comma_list(_convert(args[0]))
    if origin in (Mapping, dict):
        return _pairs(_convert(args[0]), _convert(args[1]))
    raise TypeError(f"no command-line form for a setting of type {hint!r}")


def _metavar(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return _metavar(next(a for a in args if a is not type(None)))
    if origin is tuple:
        return f"{_metavar(args[0])},…"
    if origin in (Mapping, dict):
        return f"{_metavar(args[0])}={_metavar(args[1])},…"
    return _METAVARS.get(hint, "VALUE")


def _shown(value: Any) -> str:
    """A default as ``--help`` shows it (in the form the flag takes)."""
    if value is None or value in ((), {}):
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, datetime):
        return iso(value.timestamp())
    if isinstance(value, tuple):
        return ",".join(_shown(v) for v in value)
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if value == "":
        return "''"
    return str(value)


# --- the parser -----------------------------------------------------------------------------


class _Switch(argparse.Action):
    """--name sets a bool setting on, --no-name off."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,  # noqa: ARG002 - argparse's signature
        namespace: argparse.Namespace,
        values: Any,  # noqa: ARG002 - none: the flag takes no value
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, not (option_string or "").startswith("--no-"))


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _add_setting(group: Any, f: dataclasses.Field[Any], hint: Any) -> None:
    meta = f.metadata
    flag = "--" + str(meta.get("flag", f.name.replace("_", "-")))
    default = _default(f)
    text = f"{meta['help']} (default: {_shown(default)})".replace("%", "%%")
    if hint is bool:
        no_flag = "--no-" + flag[2:]
        group.add_argument(
            flag, no_flag, dest=f.name, action=_Switch, nargs=0, default=default, help=text
        )
        return
    choices = meta.get("choices")
    if choices is None and get_origin(hint) is Literal:
        choices = get_args(hint)
    group.add_argument(
        flag,
        dest=f.name,
        type=meta.get("parse") or _convert(hint),
        choices=choices,
        default=default,
        metavar=None if choices else meta.get("metavar") or _metavar(hint),
        help=text,
    )


def fault_table() -> str:
    """The --help epilog: every fault kind and what it does."""
    width = max(len(k) for k in FAULT_KINDS)
    rows = [f"  {kind:<{width}}  {FAULT_MEANINGS[kind]}" for kind in FAULT_KINDS]
    return "\n".join(
        [
            "fault kinds (for --faults, --fault-kinds and POST /_fake/inject?kind=):",
            *rows,
            f"--fault-rate draws from --fault-kinds (default {','.join(DEFAULT_FAULT_KINDS)}).",
            "",
            "introspection (no token needed, at the root and under --prefix): GET /_fake/stats,",
            "/_fake/log, /_fake/totals, /_fake/expected?since=&until=; POST /_fake/reset-stats,",
            "/_fake/inject?kind=&match=&times=, /_fake/mutate?seed=&edits=&adds=&deletes=&",
            "new_repos=&repos=&kinds=&bump_pull_on_review= (the data changes while served; the",
            "answer says what changed). REST answers carry ETags; a matching If-None-Match is a",
            "304 that spends no budget.",
        ]
    )


def parser() -> argparse.ArgumentParser:
    """The command line: ``--port-file``, then one option per setting, in sections."""
    ap = argparse.ArgumentParser(
        prog=PROG,
        usage=f"{PROG} [-h] [--port-file PATH] [--SETTING VALUE …]",
        description="Serve a fake GitHub REST API on 127.0.0.1 until SIGINT/SIGTERM.",
        epilog=fault_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--port-file",
        type=Path,
        metavar="PATH",
        help="also write the base URL to this file (atomically, before the start-up line)",
    )
    groups = {name: ap.add_argument_group(*text) for name, text in _GROUPS.items()}
    data_fields = {f.name for f in dataclasses.fields(DataSpec)}
    hints = get_type_hints(FakeSettings)
    for f in dataclasses.fields(FakeSettings):
        group = "data" if f.name in data_fields else str(f.metadata.get("group", "server"))
        _add_setting(groups[group], f, hints[f.name])
    return ap


def settings_from_args(argv: Sequence[str] | None = None) -> tuple[FakeSettings, Path | None]:
    """Parse the command line into settings (and the --port-file path); ValueError when the
    settings do not hold together (argparse exits 2 on what it refuses itself)."""
    args = vars(parser().parse_args(argv))
    port_file: Path | None = args.pop("port_file")
    return FakeSettings(**args), port_file


def startup_line(fake: FakeGitHub) -> str:
    """The one line printed once the fake serves: where, with which token, whose repos."""
    s = fake.settings
    return (
        f"fake GitHub listening on {fake.base_url} — token {s.token}, {s.mode} {s.owner} "
        f"({s.repos} repos); Ctrl+C stops it"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; print the one start-up line first. Exit status 0."""
    try:
        settings, port_file = settings_from_args(argv)
    except ValueError as exc:
        print(f"fakegithub: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fake = FakeGitHub(settings)
    try:
        fake.start()
    except OSError as exc:
        print(
            f"fakegithub: cannot listen on 127.0.0.1:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    with fake:
        if port_file is not None:  # before the line: whoever read the line can read the file
            tmp = port_file.with_name(port_file.name + ".tmp")
            tmp.write_text(fake.base_url + "\n", encoding="utf-8")
            os.replace(tmp, port_file)  # readers never see a half-written URL
        print(startup_line(fake), flush=True)
        while not stop.wait(0.2):
            pass
    return 0
