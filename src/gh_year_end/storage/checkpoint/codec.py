"""The checkpoint's two formats, as msgspec encoders and decoders: the snapshot (checkpoint.json,
format 4) and a journal line. Decoding validates every field against the model's types, so a
malformed value is refused with msgspec's account of it (what was expected, and where).

Formats 2, 3 and 4 share one layout; each added unit fields an older ghye would drop, so such a
ghye refuses the newer one: format 3 a cursor's ``continuing`` (reviews through GraphQL), format
4 a unit's refresh state (``probe``, ``refreshed_at``, ``refresh_generation``, ``switch``,
``changed``, ``changed_generation`` — a format-3 ghye would cut a refreshed file whose rename is
pending back to the old size). Snapshot keys: format_version, seq,
created_at, updated_at, config_digest, dataset, target, year, current_phase, phases, plan, repos
(name → status, started_at, completed_at, error, endpoints, repo). Journal lines: ``{"op":
"unit", "seq", "repo", "endpoint", "state", "repo_state"}`` and ``{"op": "phases", "seq",
"phases", "current_phase"}``. Units are written without their fields at default values (a
pending unit is ``{"cursor":{}}``); datetimes without a zone are read as UTC.

Errors carry only the detail; the store that read the bytes frames it with its file's name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import msgspec

from gh_year_end.storage.checkpoint.model import Count, EndpointProgress, RepoProgress
from gh_year_end.storage.checkpoint.state import (
    CheckpointState,
    JournalEntry,
    Meta,
    PhaseProgress,
    PhasesEntry,
    RepoHeader,
    Seq,
    UnitEntry,
    as_utc,
)

FORMAT_VERSION: Final = 4


class FormatError(ValueError):
    """The bytes are not a checkpoint this ghye can read; ``detail`` says what is wrong."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NewerFormat(Exception):
    """The snapshot was written by a newer ghye (format ``version``)."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


class OlderFormat(Exception):
    """The snapshot is of an older format (``version``); ``data`` is its parsed JSON."""

    def __init__(self, version: int, data: dict[str, Any]) -> None:
        super().__init__(version)
        self.version = version
        self.data = data


class Snapshot(msgspec.Struct):
    """checkpoint.json, format 4."""

    format_version: int
    seq: Count = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    config_digest: str | None = None
    dataset: dict[str, Any] | None = None
    target: dict[str, Any] | None = None
    year: int | None = None
    current_phase: str | None = None
    phases: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    plan: list[str] | None = None
    repos: dict[str, RepoProgress] = msgspec.field(default_factory=dict)


class _UnitLine(msgspec.Struct, tag_field="op", tag="unit"):
    seq: Seq
    repo: str
    endpoint: str
    state: EndpointProgress
    repo_state: RepoHeader


class _PhasesLine(msgspec.Struct, tag_field="op", tag="phases"):
    seq: Seq
    phases: dict[str, dict[str, Any]]
    current_phase: str | None = None


_SNAPSHOT: Final = msgspec.json.Decoder(Snapshot)
_LINE: Final = msgspec.json.Decoder(_UnitLine | _PhasesLine)
_ANY: Final = msgspec.json.Decoder()
_ENCODER: Final = msgspec.json.Encoder()


# --- snapshot ------------------------------------------------------------------------------


def decode_snapshot(raw: bytes) -> CheckpointState:
    """checkpoint.json → the state.

    Raises FormatError (damaged: not JSON, a field of the wrong type, a plan naming a repo with
    no entry…), NewerFormat, or OlderFormat (for :mod:`.migrate` to upgrade).
    """
    if not raw.strip():
        raise FormatError("the file is empty")
    try:
        doc = _SNAPSHOT.decode(raw)
    except msgspec.ValidationError as exc:
        # Perhaps not format 4 at all (a seed checkpoint, a newer one): that is said instead.
        data = _ANY.decode(raw)
        snapshot_version(data)
        raise FormatError(_pinpoint(str(exc), data)) from None
    except msgspec.DecodeError as exc:
        raise FormatError(f"not valid JSON: {exc}") from None
    if doc.format_version != FORMAT_VERSION:
        snapshot_version(_ANY.decode(raw))  # raises the matching error
    return _to_state(doc)


def decode_same_layout(data: dict[str, Any]) -> CheckpointState:
    """A parsed snapshot of an older format whose layout is this one's (formats 2 and 3: their
    units lack only fields added since, which take their defaults)."""
    try:
        doc = msgspec.convert({**data, "format_version": FORMAT_VERSION}, Snapshot)
    except msgspec.ValidationError as exc:
        raise FormatError(_pinpoint(str(exc), data)) from None
    return _to_state(doc)


def snapshot_version(data: Any) -> int:
    """The format of a parsed snapshot; raises FormatError, NewerFormat, or OlderFormat."""
    if not isinstance(data, dict):
        raise FormatError(f"expected a JSON object, found {type(data).__name__}")
    version = data.get("format_version")
    if version is None:
        legacy = data.get("version")  # the seed's own layout: "version": "1.0"
        if legacy is None:
            raise FormatError("no format_version")
        if str(legacy).split(".")[0] != "1":
            raise FormatError(f"unknown version {legacy!r}")
        version = 1
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise FormatError(f"format_version {version!r} is not a version number")
    if version > FORMAT_VERSION:
        raise NewerFormat(version)
    if version < FORMAT_VERSION:
        raise OlderFormat(version, data)
    return version


def _to_state(doc: Snapshot) -> CheckpointState:
    meta = Meta(
        created_at=as_utc(doc.created_at),
        updated_at=as_utc(doc.updated_at),
        config_digest=doc.config_digest,
        dataset=doc.dataset,
        target=doc.target,
        year=doc.year,
    )
    repos = doc.repos
    plan = list(repos) if doc.plan is None else doc.plan
    for name in plan:
        progress = repos.get(name)
        if progress is None:
            raise FormatError(f"plan names {name}, which has no progress entry")
        if not progress.repo:
            progress.repo = {"full_name": name}
    utc_repos(repos.values())
    return CheckpointState(
        meta=meta,
        phases=decode_phases(doc.phases, "$.phases"),
        current_phase=doc.current_phase,
        plan=plan,
        repos=repos,
        seq=doc.seq,
    )


def encode_snapshot(state: CheckpointState) -> bytes:
    """The state → checkpoint.json bytes (format 4)."""
    meta = state.meta
    return _ENCODER.encode(
        Snapshot(
            format_version=FORMAT_VERSION,
            seq=state.seq,
            created_at=meta.created_at,
            updated_at=meta.updated_at,
            config_digest=meta.config_digest,
            dataset=meta.dataset,
            target=meta.target,
            year=meta.year,
            current_phase=state.current_phase,
            phases=encode_phases(state.phases),
            plan=state.plan,
            repos=state.repos,
        )
    )


def utc_repos(repos: Iterable[RepoProgress]) -> None:
    """Read the zone-less datetimes of ``repos`` (RepoProgress values) as UTC, in place.

    A plain loop after the decode: a ``__post_init__`` hook would cost a call per unit.
    """
    for progress in repos:
        if progress.started_at is not None or progress.completed_at is not None:
            progress.started_at = as_utc(progress.started_at)
            progress.completed_at = as_utc(progress.completed_at)
        for unit in progress.endpoints.values():
            moment = unit.updated_at
            if moment is not None and moment.tzinfo is None:
                unit.updated_at = as_utc(moment)


def decode_phases(raw: dict[str, dict[str, Any]], where: str) -> dict[str, PhaseProgress]:
    """Flat phase objects → PhaseProgress (FormatError naming the phase if one is malformed)."""
    phases: dict[str, PhaseProgress] = {}
    for name, flat in raw.items():
        try:
            phases[name] = PhaseProgress.from_flat(flat)
        except msgspec.ValidationError as exc:
            raise FormatError(_at(str(exc), f"{where}[{_key(name)}]")) from None
    return phases


def encode_phases(phases: dict[str, PhaseProgress]) -> dict[str, dict[str, Any]]:
    """PhaseProgress → the flat on-disk objects."""
    return {name: phase.flat() for name, phase in phases.items()}


# --- journal lines -------------------------------------------------------------------------


def decode_entry(line: bytes) -> JournalEntry:
    """One journal line (without its newline) → the entry; FormatError if it is not one."""
    try:
        wire = _LINE.decode(line)
        if isinstance(wire, _PhasesLine):
            return PhasesEntry(
                seq=wire.seq,
                phases=decode_phases(wire.phases, "$.phases"),
                current_phase=wire.current_phase,
            )
    except msgspec.ValidationError as exc:
        raise FormatError(str(exc)) from None
    except msgspec.DecodeError as exc:
        raise FormatError(f"not valid JSON: {exc}") from None
    header, unit = wire.repo_state, wire.state
    header.started_at = as_utc(header.started_at)
    header.completed_at = as_utc(header.completed_at)
    unit.updated_at = as_utc(unit.updated_at)
    return UnitEntry(
        seq=wire.seq, repo=wire.repo, endpoint=wire.endpoint, state=unit, repo_state=header
    )


def encode_entry(entry: JournalEntry) -> bytes:
    """The entry → one journal line, without its newline."""
    if isinstance(entry, PhasesEntry):
        wire: _UnitLine | _PhasesLine = _PhasesLine(
            seq=entry.seq, phases=encode_phases(entry.phases), current_phase=entry.current_phase
        )
    else:
        wire = _UnitLine(
            seq=entry.seq,
            repo=entry.repo,
            endpoint=entry.endpoint,
            state=entry.state,
            repo_state=entry.repo_state,
        )
    return _ENCODER.encode(wire)


# --- messages ------------------------------------------------------------------------------


def _at(message: str, where: str) -> str:
    """msgspec's ``… - at `$.x``` with ``$`` read as ``where`` (the path of what was checked)."""
    text, sep, path = message.partition(" - at `$")
    return f"{text} - at `{where}{path}" if sep else f"{message} - at `{where}`"


def _key(name: str) -> str:
    return _ENCODER.encode(name).decode()


def _pinpoint(message: str, data: dict[str, Any]) -> str:
    """msgspec names a bad value inside a mapping as ``repos[...]``; say which repo (and
    endpoint) it is, found by checking each entry on its own (only on this error path)."""
    text, sep, path = message.partition(" - at `$.repos[...]")
    repos = data.get("repos")
    if not sep or not isinstance(repos, dict):
        return message
    name = next((n for n, repo in repos.items() if _fails(repo, RepoProgress)), None)
    if name is None:
        return message
    where = f"$.repos[{_key(name)}]"
    endpoints = repos[name].get("endpoints") if isinstance(repos[name], dict) else None
    if path.startswith(".endpoints[...]") and isinstance(endpoints, dict):
        endpoint = next(
            (e for e, unit in endpoints.items() if _fails(unit, EndpointProgress)), None
        )
        if endpoint is not None:
            where += f".endpoints[{_key(endpoint)}]"
            path = path.removeprefix(".endpoints[...]")
    return f"{text} - at `{where}{path}"


def _fails(value: Any, kind: type[Any]) -> bool:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return True
    return False


__all__ = [
    "FORMAT_VERSION",
    "FormatError",
    "NewerFormat",
    "OlderFormat",
    "Snapshot",
    "decode_entry",
    "decode_phases",
    "decode_snapshot",
    "encode_entry",
    "encode_phases",
    "encode_snapshot",
    "snapshot_version",
    "utc_repos",
]
