"""`make demo`: ghye's selling point, offline — a collect stopped midway resumes to the exact data.

1. starts the bundled fake GitHub on 127.0.0.1:8765 (the same URL every run; a free port, said
   so, when that one is busy),
2. writes ``data/demo/config.yaml`` from the example config that ships inside ghye, pointed at
   the fake (api_url, target, token_env, storage.root; the example's comments kept),
3. runs ``ghye collect`` and presses Ctrl+C (SIGINT) once part of the records are on disk,
4. runs ``ghye resume`` to the end, then ``ghye verify`` and ``ghye status``,
5. compares every collected id with the ids the fake says the window holds, and says in one
   line whether the dataset is exact (exit 1 when it is not, or when a step went wrong).

Nothing leaves 127.0.0.1 (proxy variables are dropped for the ghye runs); the token is a
made-up one the fake accepts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any, Final

import yaml

from gh_year_end.config import Config, load_config
from gh_year_end.endpoints import BY_NAME, ENDPOINT_NAMES
from gh_year_end.storage.paths import PathManager
from gh_year_end.testing.demorun import RecordGauge, Shown
from gh_year_end.testing.fakegithub import FakeGitHub, FakeSettings

DEMO_PORT: Final = 8765
DEMO_ROOT: Final = Path("data") / "demo"
DEMO_TOKEN: Final = "demo-token-not-a-secret"  # noqa: S105 — the fake server's made-up token
TOKEN_ENV: Final = "GHYE_DEMO_TOKEN"  # noqa: S105 — the variable's name, not a token
FAKE: Final = FakeSettings(owner="acme", repos=12, token=DEMO_TOKEN, latency=0.1)
INTERRUPT_AT: Final = 0.4
"""The share of the window's records on disk when the demo presses Ctrl+C."""
INTERRUPTED: Final = "interrupted — progress saved"
EXIT_SIGINT: Final = 130
HEADER: Final = """\
# Written by `make demo` (gh_year_end/testing/demo.py) from the example config that ships with
# ghye (gh_year_end/config.example.yaml): github.api_url, github.target, github.auth.token_env
# and storage.root point at the demo's fake GitHub; the rest is the example's.
"""
_DROPPED_ENV: Final = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "github_token", "gh_token", "ghye_config"}
)


def say(text: str) -> None:
    """One line of the demo's own (ghye's lines are not prefixed)."""
    print(f"demo: {text}", flush=True)


# --- the config -------------------------------------------------------------------------------


def example_config() -> str:
    """The example config that ships inside the package."""
    return (
        resources.files("gh_year_end").joinpath("config.example.yaml").read_text(encoding="utf-8")
    )


def set_value(text: str, path: str, value: str) -> str:
    """YAML ``text`` with the scalar at ``path`` (e.g. ``github.target.name``) set to ``value``;
    every comment stays where it was. ValueError when ``path`` is not a scalar of the text."""
    keys = path.split(".")
    lines = text.splitlines(keepends=True)
    depth, parent_indent = 0, -1
    for i, line in enumerate(lines):
        body = line.lstrip(" ")
        if not body.strip() or body.startswith("#"):
            continue
        indent = len(line) - len(body)
        if indent <= parent_indent:
            break  # out of the block the key should be in
        match = re.match(rf"{re.escape(keys[depth])}:(?=\s)", body)
        if match is None:
            continue
        if depth < len(keys) - 1:
            depth, parent_indent = depth + 1, indent
            continue
        old = body[match.end() :].rstrip("\n")
        comment_at = old.find(" #")
        if not old.strip() or old.strip().startswith("#"):
            break  # a block, not a scalar
        head = f"{' ' * indent}{keys[depth]}: {value}"
        if comment_at >= 0:
            column = len(line) - len(body) + match.end() + comment_at + 1
            head = head.ljust(column - 1) + " " + old[comment_at:].lstrip()
        lines[i] = head + "\n"
        return "".join(lines)
    raise ValueError(f"the example config has no scalar {path}")


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back as itself, else quoted (a JSON
    string is a YAML one)."""
    return value if yaml.safe_load(value) == value else json.dumps(value)


def demo_config(api_url: str, root: Path) -> str:
    """The example config, pointed at the fake at ``api_url``, storing under ``root``."""
    values = {
        "github.api_url": api_url,
        "github.target.mode": FAKE.mode,
        "github.target.name": FAKE.owner,
        "github.auth.token_env": TOKEN_ENV,
        "storage.root": str(root.resolve()),
    }
    text = example_config()
    for path, value in values.items():
        text = set_value(text, path, _scalar(value))
    doc: Any = yaml.safe_load(text)
    for path, value in values.items():
        node = doc
        for key in path.split("."):
            node = node[key]
        if node != value:
            raise ValueError(f"the demo config's {path} reads {node!r}, not {value!r}")
    return HEADER + text


def write_config(api_url: str) -> tuple[Path, Config]:
    """``data/demo/config.yaml`` for the fake at ``api_url``, and the config as ghye loads it."""
    DEMO_ROOT.mkdir(parents=True, exist_ok=True)
    path = DEMO_ROOT / "config.yaml"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(demo_config(api_url, DEMO_ROOT / "data"), encoding="utf-8")
    tmp.replace(path)
    return path, load_config(path)


# --- the fake ---------------------------------------------------------------------------------


def start_fake(port: int) -> FakeGitHub:
    """The fake on ``port``; on a free port, said so, when that one is taken."""
    try:
        return FakeGitHub(replace(FAKE, port=port)).start()
    except OSError as exc:
        if port == 0:
            raise
        fake = FakeGitHub(replace(FAKE, port=0)).start()
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        say(
            f"port {port} is busy ({why}) — the fake serves on {fake.port} instead; the config's "
            "api_url changes with it, so ghye starts over saying the config changed "
            "(`--port N` picks another port)"
        )
        return fake


def expected_ids(fake: FakeGitHub, config: Config) -> dict[str, dict[str, set[str]]]:
    """{repo: {endpoint: ids as text}} that a correct collection of the config's window holds."""
    gh = config.github
    want = fake.expected(
        gh.windows.since,
        gh.windows.until,
        include_forks=gh.discovery.include_forks,
        include_archived=gh.discovery.include_archived,
        visibility=gh.discovery.visibility,
    )
    units: Mapping[str, Mapping[str, list[Any]]] = want["units"]
    return {
        repo: {ep: set(map(str, ids)) for ep, ids in eps.items()} for repo, eps in units.items()
    }


# --- the dataset ------------------------------------------------------------------------------


def read_dataset(target: Path) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """{repo: {endpoint: ids as text}} of a target folder's JSONL files, and what is wrong with
    them (torn or unreadable lines)."""
    found: dict[str, dict[str, list[str]]] = {}
    problems: list[str] = []
    for endpoint in ENDPOINT_NAMES:
        key = BY_NAME[endpoint].record_id
        for path in sorted((target / endpoint).glob("*.jsonl")):
            raw = path.read_bytes()
            if raw and not raw.endswith(b"\n"):
                problems.append(f"{endpoint}/{path.name} ends with a torn line")
            repo = path.stem.replace("__", "/", 1)
            ids = found.setdefault(repo, {}).setdefault(endpoint, [])
            for number, line in enumerate(raw.splitlines(), 1):
                try:
                    ids.append(str(json.loads(line)["data"][key]))
                except (ValueError, KeyError, TypeError):
                    problems.append(f"{endpoint}/{path.name}:{number} is not a record")
    return found, problems


def differences(
    got: Mapping[str, Mapping[str, list[str]]], want: Mapping[str, Mapping[str, set[str]]]
) -> list[str]:
    """How a dataset differs from the expected ids (empty: exact)."""
    out = []
    for repo in sorted(set(got) | set(want)):
        for endpoint in ENDPOINT_NAMES:
            ids = got.get(repo, {}).get(endpoint, [])
            expected = want.get(repo, {}).get(endpoint, set())
            missing, extra = expected - set(ids), set(ids) - expected
            twice = len(ids) - len(set(ids))
            if missing or extra or twice:
                out.append(
                    f"{repo} {endpoint}: {len(missing)} missing, {len(extra)} extra, {twice} twice"
                )
    return out


# --- the steps --------------------------------------------------------------------------------


def ghye_env() -> dict[str, str]:
    """The environment of the ghye runs: the demo token; no proxy, no real GitHub token."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in _DROPPED_ENV}
    env[TOKEN_ENV] = DEMO_TOKEN
    env["PYTHONUNBUFFERED"] = "1"
    return env


def banner(number: int, text: str, args: Sequence[str]) -> None:
    """The heading of a step, with the command a user would type."""
    print(f"\n── {number}. {text}\n$ ghye {' '.join(args)}", flush=True)


def collect_and_interrupt(fake: FakeGitHub, args: list[str], target: Path, total: int) -> bool:
    """``ghye collect``, Ctrl+C once INTERRUPT_AT of the records are on disk; True when it
    stopped as it should: exit 130, having said that its progress is saved."""
    fake.reset_stats()
    run = Shown([sys.executable, "-m", "gh_year_end", *args], ghye_env())
    collecting = False  # a unit answered: what an earlier run left has been removed by now
    gauge = RecordGauge(target)
    on_disk = 0
    try:
        while run.alive():
            if not collecting:
                served = fake.stats()["by_endpoint"]
                collecting = any(served.get(endpoint) for endpoint in ENDPOINT_NAMES)
            else:
                on_disk = gauge.count()
                if on_disk >= INTERRUPT_AT * total:
                    run.send(signal.SIGINT)
                    break
            time.sleep(0.02)
    except KeyboardInterrupt:  # the user's Ctrl+C reached ghye too: let it save its progress
        run.wait()
        raise
    code = run.wait()
    if not run.signalled:
        say(f"ghye collect ended (exit {code}) before the demo pressed Ctrl+C")
        return False
    said = INTERRUPTED in run.text()
    say(
        f"Ctrl+C (SIGINT) pressed with {on_disk:,} of {total:,} records on disk "
        f"({on_disk / total:.0%}); ghye exited {code} and "
        + (f"said “{INTERRUPTED}”" if said else f"did NOT say “{INTERRUPTED}”")
    )
    return code == EXIT_SIGINT and said


def run_step(args: list[str]) -> bool:
    """Run ``ghye args`` to its end, its output shown; True on exit 0."""
    code = Shown([sys.executable, "-m", "gh_year_end", *args], ghye_env()).wait()
    if code != 0:
        say(f"ghye {args[0]} exited {code}")
    return code == 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; 0 when every step went as it should and the dataset is exact."""
    ap = argparse.ArgumentParser(
        prog="python -m gh_year_end.testing.demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--port", type=int, default=DEMO_PORT, help="the fake's port (default 8765)")
    port = ap.parse_args(argv).port
    try:
        return _demo(port)
    except KeyboardInterrupt:
        print(flush=True)
        say(f"stopped by Ctrl+C; `make demo` starts it again, data under {DEMO_ROOT / 'data'}")
        return EXIT_SIGINT


def _demo(port: int) -> int:
    """The demo's steps with the fake on ``port``; its exit status."""
    with start_fake(port) as fake:
        config_path, config = write_config(fake.base_url)
        target = PathManager(config).target_dir
        want = expected_ids(fake, config)
        total = sum(len(ids) for eps in want.values() for ids in eps.values())
        say(
            f"fake GitHub on {fake.base_url} — org {FAKE.owner}, {FAKE.repos} repos, "
            f"{fake.settings.latency * 1000:.0f} ms a request; token in ${TOKEN_ENV}"
        )
        say(f"config {config_path} (from the example config shipped in the package)")
        say(f"the {config.github.windows.year} window holds {total:,} records of {len(want)} repos")
        cfg = ["--config", str(config_path)]
        steps_ok = True

        collect = ["collect", "--force", "--yes", *cfg]
        banner(1, "collect, interrupted midway (--force: start over from nothing)", collect)
        steps_ok &= collect_and_interrupt(fake, collect, target, total)
        for number, text, args in (
            (2, "resume: continue at the exact page, to the end", ["resume", *cfg]),
            (3, "verify: the files against the checkpoint and the manifest", ["verify", *cfg]),
            (4, "status", ["status", *cfg]),
        ):
            banner(number, text, args)
            steps_ok &= run_step(args)

        got, problems = read_dataset(target)
        problems += differences(got, want)
        stats = fake.stats()
    records = sum(len(ids) for eps in got.values() for ids in eps.values())
    print(flush=True)
    say(
        f"the fake answered {stats['requests']:,} requests since the collect began "
        f"(at most {stats['max_inflight']} at once); data under {DEMO_ROOT / 'data'}"
    )
    if problems:
        say(f"the dataset is NOT exact — {len(problems)} differences, e.g. {problems[0]}")
        return 1
    say(
        f"the dataset is exact — {records:,} records, every id the fake expects for the window, "
        "none more, none twice"
        + ("" if steps_ok else " (but a step above did not go as it should)")
    )
    return 0 if steps_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
