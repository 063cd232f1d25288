"""Record templates and the text inside records.

Building a 45-key dict per pull request and serialising it costs ~25 µs; the server must turn
out several hundred 100-record pages a second. So each record kind has a *skeleton* per repo —
the record as a dict whose varying parts are holes — serialised once into a :class:`Template`
and cut into static pieces. Rendering a record is then one join over those pieces and a dozen
small strings.

Holes: :func:`value` stands for a whole JSON value (the caller passes JSON text: ``"\\"x\\""``,
``"12"``, ``"null"``); :func:`inline` stands for raw text inside a JSON string (URL-safe
characters only: numbers, hex, logins). Bodies and titles are slices of one deterministic
~200 KB corpus, chosen by a key.
"""

from __future__ import annotations

import operator
import random
import re
from functools import cache
from typing import Any, Final

import orjson

from gh_year_end.testing.fakegithub.data import iso

# Private-use characters: orjson writes them as they are, and no real text contains them.
_VALUE_OPEN, _VALUE_CLOSE = "\ue002", "\ue003"
_INLINE_OPEN, _INLINE_CLOSE = "\ue000", "\ue001"
_VALUE_HOLE: Final = re.compile(f'"{_VALUE_OPEN}(\\d+){_VALUE_CLOSE}"')
_INLINE_HOLE: Final = re.compile(f"{_INLINE_OPEN}(\\d+){_INLINE_CLOSE}")


def value(k: int) -> str:
    """Hole ``k`` for a whole JSON value."""
    return f"{_VALUE_OPEN}{k}{_VALUE_CLOSE}"


def inline(k: int) -> str:
    """Hole ``k`` for raw text inside a JSON string."""
    return f"{_INLINE_OPEN}{k}{_INLINE_CLOSE}"


class Template:
    """A skeleton serialised once; ``render(*parts)`` fills hole k with ``parts[k]``.

    Kept as the static pieces between holes plus the hole order, and rendered by slice
    assignment and one join: ``str.format`` would re-parse kilobytes of template per record.
    """

    def __init__(self, skeleton: Any) -> None:
        text = orjson.dumps(skeleton).decode()
        text = _VALUE_HOLE.sub(lambda m: f"{_INLINE_OPEN}{m.group(1)}{_INLINE_CLOSE}", text)
        split = _INLINE_HOLE.split(text)  # static, hole, static, hole, …, static
        self._pieces = split[0::2]
        holes = [int(k) for k in split[1::2]]
        if len(holes) < 2:
            raise ValueError("a template needs at least two holes")
        self._pick = operator.itemgetter(*holes)
        self._size = 2 * len(holes) + 1

    def render(self, *parts: str) -> str:
        """The record's JSON text with hole k replaced by ``parts[k]``."""
        buf: list[str] = [""] * self._size
        buf[0::2] = self._pieces
        buf[1::2] = self._pick(parts)
        return "".join(buf)


def when(ts: int) -> str:
    """Epoch seconds as a JSON timestamp string."""
    return f'"{iso(ts)}"'


def when_or_null(ts: int) -> str:
    """Like :func:`when`; 0 (not set) is null."""
    return f'"{iso(ts)}"' if ts else "null"


_PROSE: Final = (
    "the collector pages through pull requests issues comments and reviews while a checkpoint "
    "records each committed page so that an interrupted run resumes exactly where it stopped "
    "without losing or duplicating a record rate limits secondary limits and transient server "
    "errors are retried with backoff tests fixtures refactor migrate deprecate benchmark cache "
    "latency throughput memory schema version release changelog documentation typo config "
    "parser validator endpoint pagination cursor window boundary timezone offset encoding "
    "unicode newline buffer flush fsync rename atomic journal snapshot compaction lock owner"
)
_WORDS: Final = _PROSE.split()


@cache
def corpus() -> str:
    """~200 KB of deterministic markdown-ish prose that bodies are sliced from."""
    rng = random.Random("ghye-fake-corpus")
    parts: list[str] = []
    size = 0
    while size < 200_000:
        sentence = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 18)))
        sentence = sentence.capitalize() + rng.choice(
            (". ", ". ", "? ", ".\n\n", ".\n\n- ", ": `x`. ")
        )
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


def text(key: int, lo: int, hi: int) -> str:
    """A deterministic slice of the corpus of length in [lo, hi), chosen by ``key``."""
    body = corpus()
    h = (key * 2654435761 + 97) & 0xFFFFFFFF
    length = lo + h % max(1, hi - lo)
    offset = (h >> 5) % (len(body) - hi - 1)
    return body[offset : offset + length]


@cache
def _corpus_json() -> str:
    # the corpus has no quote, backslash or control character but the newline
    return corpus().replace("\n", "\\n")


def text_json(key: int, lo: int, hi: int) -> str:
    """Like :func:`text`, as a JSON string literal (sliced from a pre-escaped corpus)."""
    body = _corpus_json()
    h = (key * 2654435761 + 97) & 0xFFFFFFFF
    end = (h >> 5) % (len(body) - hi - 1) + lo + h % max(1, hi - lo)
    start = (h >> 5) % (len(body) - hi - 1)
    piece = body[start:end]
    if piece.endswith("\\"):  # do not cut an escape in half
        piece = piece[:-1]
    return f'"{piece}"'


@cache
def _corpus_line() -> str:
    return corpus().replace("\n", " ")


def revised(literal: str, revision: int) -> str:
    """A JSON string literal (a title or body) as it reads after ``revision`` edits: unchanged
    at 0, else with "(edit N)" at its end — so an edit shows in the record, and in its ETag."""
    if not revision:
        return literal
    space = " " if len(literal) > 2 else ""
    return f'{literal[:-1]}{space}(edit {revision})"'


def title_json(key: int) -> str:
    """A one-line title (20–70 characters) as a JSON string, chosen by ``key``."""
    line = _corpus_line()
    h = (key * 2246822519 + 31) & 0xFFFFFFFF
    start = h % (len(line) - 80)
    return '"' + line[start : start + 20 + h % 50].strip().capitalize() + '"'
