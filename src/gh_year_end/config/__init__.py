"""The configuration: YAML → a frozen, validated :class:`Config`; where ghye reads it from.

``model`` (the dataclasses and the dataset digest), ``reader`` (the schema and the YAML walker),
``parse`` (text → Config, every rule), ``load`` (the file, safely).
"""

from __future__ import annotations

from gh_year_end.config.load import load_config
from gh_year_end.config.model import (
    DEFAULT_API_URL,
    AppAuthConfig,
    AuthConfig,
    CollectionConfig,
    Config,
    DiscoveryConfig,
    EnableConfig,
    GitHubConfig,
    HygieneConfig,
    RateLimitConfig,
    StorageConfig,
    TargetConfig,
    TargetMode,
    Visibility,
    WindowConfig,
    dataset_digest,
)
from gh_year_end.config.parse import parse_config
from gh_year_end.config.reader import FIRST_YEAR, IGNORED, LAST_YEAR, MAX_CONFIG_BYTES

__all__ = [
    "DEFAULT_API_URL",
    "FIRST_YEAR",
    "IGNORED",
    "LAST_YEAR",
    "MAX_CONFIG_BYTES",
    "AppAuthConfig",
    "AuthConfig",
    "CollectionConfig",
    "Config",
    "DiscoveryConfig",
    "EnableConfig",
    "GitHubConfig",
    "HygieneConfig",
    "RateLimitConfig",
    "StorageConfig",
    "TargetConfig",
    "TargetMode",
    "Visibility",
    "WindowConfig",
    "dataset_digest",
    "load_config",
    "parse_config",
]
