"""Reading the config file safely (a regular file of at most 1 MiB, never a FIFO or a device)
and validating it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gh_year_end.config.model import Config
from gh_year_end.config.parse import parse_config
from gh_year_end.config.reader import MAX_CONFIG_BYTES
from gh_year_end.errors import ConfigInvalid, ConfigNotFound


def load_config(path: Path, *, cwd: Path | None = None) -> Config:
    """Read and validate the YAML config at ``path`` (a regular file of at most 1 MiB)."""
    text = _read_config(path)
    config = parse_config(text, source=str(path), cwd=cwd)
    return Config(
        github=config.github,
        rate_limit=config.rate_limit,
        collection=config.collection,
        storage=config.storage,
        source=path,
        ignored=config.ignored,
    )


def _read_config(path: Path) -> str:
    """The text of the config file at ``path``.

    It is stat-ed before it is opened: open() blocks forever on a FIFO with no writer, and
    /dev/zero never ends, so anything but a regular file is refused unopened. It is then opened
    non-blocking (in case it was swapped for a FIFO since), checked again, and read at most
    MAX_CONFIG_BYTES + 1 bytes (in case it grew).
    """
    if "\0" in str(path):
        raise ConfigNotFound("config path must not contain a NUL character — pass the YAML file")
    try:
        _check_config_stat(path, path.stat())
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        with open(os.open(path, flags), "rb") as file:
            _check_config_stat(path, os.fstat(file.fileno()))
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigNotFound(
            f"config file {path} not found — copy config/config.example.yaml there and edit it"
        ) from None
    except IsADirectoryError:
        raise ConfigNotFound(f"config path {path} is a folder, not a YAML file") from None
    except OSError as exc:
        raise ConfigNotFound(f"config file {path} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise _too_large(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigInvalid(f"{path}: not a text file (UTF-8 expected)") from None


def _check_config_stat(path: Path, info: os.stat_result) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise ConfigNotFound(f"config path {path} is a folder, not a YAML file")
    if not stat.S_ISREG(mode):
        raise ConfigNotFound(
            f"config path {path} is not a regular file ({_file_kind(mode)}) — "
            "pass the YAML file itself"
        )
    if info.st_size > MAX_CONFIG_BYTES:
        raise _too_large(path)


def _too_large(path: Path) -> ConfigInvalid:
    return ConfigInvalid(f"config file {path} is larger than 1 MiB — is it the right file?")


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"
