"""The one error tree of ghye, and the exit codes it maps to.

Every condition a user can meet is a subclass of :class:`GhyeError` whose message says what is
wrong and what to do. Foreign errors (httpx, OSError, YAML) are converted where they happen
(``raise ... from exc``) and caught once, in ``cli/app.py``. Anything else is a bug and keeps its
traceback (shown with ``--verbose``).

::

    GhyeError                              exit 1 unless a subclass says otherwise
    ├── UsageError                         2  wrong command-line use
    │   ├── NoCheckpoint                   2  `resume` with nothing to resume
    │   ├── UnknownRepo                    2  `--from-repo` / `--repo` not in the plan
    │   ├── UnknownEndpoint                2  `--endpoint` not a known endpoint
    │   └── ConfirmationRequired           2  `reset` off a terminal without `--yes`
    ├── ConfigError                        2  the configuration cannot be used
    │   ├── ConfigNotFound                 2  no config file where we looked
    │   ├── ConfigInvalid                  2  a key is missing, misspelled or has a bad value
    │   ├── ConfigChanged                  2  dataset-defining keys differ from the checkpoint's
    │   └── TargetNotFound                 2  the org/user does not exist (404 on discovery)
    ├── CheckpointError                    2  checkpoint.json cannot be trusted as it is
    │   ├── CheckpointCorrupt              2  torn, unparsable or inconsistent checkpoint/journal
    │   ├── CheckpointVersionUnsupported   2  a newer ghye's format
    │   └── DataWithoutCheckpoint          2  collected data but no checkpoint to say what it is
    ├── CheckpointLocked                   4  another live process holds the run lock
    ├── LockNotStale                       4  `unlock` refused: the holder is alive
    ├── AuthError                          5
    │   ├── TokenMissing                   5  no token in the environment
    │   └── AuthenticationFailed           5  GitHub answered 401
    ├── StorageError                       3  the data folder cannot be written (full, read-only)
    ├── DataFileMismatch                   3  a JSONL file is shorter than its checkpoint says
    ├── Interrupted                        130/143/129  SIGINT/SIGTERM/SIGHUP; progress saved
    └── GitHubError                        3  a request to GitHub failed
        ├── RetryableError                 3  worth trying again later (resume continues)
        │   ├── TransientError             3  5xx, connection errors, timeouts, bad bodies
        │   └── RateLimitExhausted         3  a rate limit that could not be waited out
        └── PermanentError                 3  trying again will not help
            ├── Unavailable                3  404 / 410: the resource is gone or hidden
            ├── Blocked                    3  451: unavailable for legal reasons
            ├── Forbidden                  3  403 that is not a rate limit (permissions, SAML SSO)
            ├── Unprocessable              3  422: GitHub refused the request as invalid
            ├── ForeignNextLink            3  a next link to another scheme/host/port; not followed
            ├── LoopingList                3  a list's next link leads back to a page already read
            └── UnsafeName                 3  a name from GitHub that cannot safely become a path
"""

from __future__ import annotations

from typing import ClassVar, Final

EXIT_OK: Final = 0
EXIT_BUG: Final = 1
EXIT_USAGE: Final = 2
EXIT_INCOMPLETE: Final = 3
EXIT_LOCKED: Final = 4
EXIT_AUTH: Final = 5
EXIT_SIGHUP: Final = 129
EXIT_SIGINT: Final = 130
EXIT_SIGTERM: Final = 143

EXIT_TABLE: Final[tuple[tuple[str, str], ...]] = (
    (
        "0",
        "every repo×endpoint complete or permanently unavailable (404/410/451/403-permission, "
        "recorded and named in the summary), but not a run where nothing at all could be read "
        "(every unit refused or gone; an org with nothing to collect is complete); `verify`: the "
        'dataset holds; a `--force` question answered "no" (nothing changed)',
    ),
    ("1", "a bug in ghye (`internal error: …`; rerun with `--verbose` for the traceback)"),
    (
        "2",
        "usage or configuration error; also `resume` without a checkpoint, collected data "
        "without a checkpoint (only `--force` removes it), unknown `--from-repo`/`--repo`/"
        "`--endpoint`, `reset` off a terminal without `--yes`, a changed dataset config (unless "
        "the checkpoint holds no committed page), a damaged or newer-format checkpoint, a target "
        "that does not exist",
    ),
    (
        "3",
        "the run ended with units not done: failures (retryable, or permanent for another "
        "reason than unavailability, e.g. a next link to another origin or a list that loops), "
        "units skipped by `--from-repo`, repositories refused for unsafe names, nothing readable "
        "at all, a data file that no longer matches its checkpoint or the manifest, a data "
        "folder not writable (disk full, read-only); `verify` found a problem; `plan` could "
        "not ask GitHub (unreachable, retries spent)",
    ),
    (
        "4",
        "another live process holds the lock (`collect`, `resume`, `reset`), or `unlock` "
        "refused a holder (one running on this host is never unlocked, `--force` or not)",
    ),
    ("5", "authentication failed (no token, or 401)"),
    (
        "129 / 130 / 143",
        "interrupted by SIGHUP / SIGINT / SIGTERM; progress saved — continue with `ghye resume`",
    ),
)
"""The one exit-code table: (code, or codes separated by " / "; what it means). ``ghye --help``
renders it; README.md's and docs/cli.md's tables repeat it word for word (tests/test_exit_codes.py
checks both, and that every ``EXIT_*`` code above is in it)."""


class GhyeError(Exception):
    """Base of every error ghye reports to its user."""

    exit_code: ClassVar[int] = EXIT_BUG


# --- usage and configuration -------------------------------------------------------------


class UsageError(GhyeError):
    """The command line asks for something that cannot be done."""

    exit_code = EXIT_USAGE


class NoCheckpoint(UsageError):
    """`resume` (or `status`) found no checkpoint for the target."""


class UnknownRepo(UsageError):
    """A repo named on the command line is not in the checkpoint's plan."""


class UnknownEndpoint(UsageError):
    """An endpoint named on the command line is not one ghye collects."""


class ConfirmationRequired(UsageError):
    """A destructive command ran off a terminal without `--yes`."""


class ConfigError(GhyeError):
    """The configuration cannot be used."""

    exit_code = EXIT_USAGE


class ConfigNotFound(ConfigError):
    """No config file where ghye looked."""


class ConfigInvalid(ConfigError):
    """A config key is missing, misspelled or has a bad value."""


class ConfigChanged(ConfigError):
    """The dataset-defining config differs from the one the checkpoint was made with."""


class TargetNotFound(ConfigError):
    """The configured org or user does not exist, or the token cannot see it."""


# --- checkpoint and lock -------------------------------------------------------------------


class CheckpointError(GhyeError):
    """The checkpoint on disk cannot be trusted as it is."""

    exit_code = EXIT_USAGE


class CheckpointCorrupt(CheckpointError):
    """checkpoint.json or its journal is torn, unparsable or inconsistent."""


class CheckpointVersionUnsupported(CheckpointError):
    """The checkpoint was written by a newer ghye in a format this one does not know."""


class DataWithoutCheckpoint(CheckpointError):
    """The target folder holds collected data but no checkpoint.json that describes it."""


class CheckpointLocked(GhyeError):
    """Another live process holds the run lock for this target."""

    exit_code = EXIT_LOCKED


class LockNotStale(GhyeError):
    """`unlock` refused because the lock's holder is still alive."""

    exit_code = EXIT_LOCKED


# --- authentication ------------------------------------------------------------------------


class AuthError(GhyeError):
    """GitHub cannot be asked anything without valid credentials."""

    exit_code = EXIT_AUTH


class TokenMissing(AuthError):
    """No token in the environment variable the config names (nor in GH_TOKEN)."""


class AuthenticationFailed(AuthError):
    """GitHub answered 401: the token is wrong, expired or revoked."""


# --- storage -------------------------------------------------------------------------------


class StorageError(GhyeError):
    """The data folder cannot be written: disk full, read-only, or another OS error."""

    exit_code = EXIT_INCOMPLETE


class DataFileMismatch(GhyeError):
    """A JSONL file is shorter than (or missing from) what the checkpoint committed."""

    exit_code = EXIT_INCOMPLETE


# --- interruption --------------------------------------------------------------------------


class Interrupted(GhyeError):
    """The run was stopped by SIGINT, SIGTERM or SIGHUP; progress was saved."""

    def __init__(self, message: str, *, exit_code: int = EXIT_SIGINT) -> None:
        super().__init__(message)
        self.signal_exit_code = exit_code


# --- GitHub --------------------------------------------------------------------------------


class GitHubError(GhyeError):
    """A request to GitHub failed."""

    exit_code = EXIT_INCOMPLETE
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        request_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.request_id = request_id
        self.detail = detail
        """What failed, without the advice the message ends with (callers may advise better)."""


class RetryableError(GitHubError):
    """Worth trying again later: a resume continues from the same page."""

    retryable = True


class TransientError(RetryableError):
    """5xx, connection errors, timeouts, truncated bodies or unparsable JSON, retries spent."""


class RateLimitExhausted(RetryableError):
    """A rate limit that could not be waited out within the retry budget."""


class QueryTooHeavy(TransientError):
    """GitHub gave up on a GraphQL query (502/504): the caller asks for less, then again."""


class PermanentError(GitHubError):
    """Trying the same request again will not help."""


class GraphQLRefused(PermanentError):
    """GitHub's GraphQL API answered a query with errors that say it will not be answered."""


class Unavailable(PermanentError):
    """404 or 410: the resource is gone, or the token cannot see it."""


class Blocked(PermanentError):
    """451: unavailable for legal reasons."""


class Forbidden(PermanentError):
    """403 that is not a rate limit: missing permission or SAML SSO enforcement."""


class Unprocessable(PermanentError):
    """422: GitHub refused the request as invalid."""


class ForeignNextLink(PermanentError):
    """A Link rel=next pointing at another scheme, host or port than api_url; not followed."""


class LoopingList(PermanentError):
    """A list whose next link leads back to a page already read, or that stops making progress."""


class UnsafeName(PermanentError):
    """A repository name from GitHub that cannot safely become a file name (``../``, …)."""


def is_unavailability(error: GitHubError) -> bool:
    """True for the permanent failures that exit code 0 accepts: the data simply is not there.

    404/410 (Unavailable), 451 (Blocked) and 403 permission (Forbidden). Anything else that ends a
    unit — a foreign next link, a 422, a retryable failure — leaves the run incomplete (exit 3).
    """
    return isinstance(error, Unavailable | Blocked | Forbidden)
