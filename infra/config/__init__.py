"""Typed, validated stack config: models, loading and the error a bad stack file raises."""

from infra.config.errors import ConfigError, Problem
from infra.config.loader import load_stack_file, parse_settings, runtime_settings, stack_file, stack_names
from infra.config.models import NAMESPACE, StackConfig

__all__ = [
    "NAMESPACE",
    "ConfigError",
    "Problem",
    "StackConfig",
    "load_stack_file",
    "parse_settings",
    "runtime_settings",
    "stack_file",
    "stack_names",
]
