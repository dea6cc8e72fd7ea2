"""Typed, validated stack config: models, loading and the error a bad stack file raises."""

from kernel.errors import ConfigError, Problem
from kernel.loader import load_stack_file, parse_settings, runtime_settings, stack_file, stack_names
from kernel.models import NAMESPACE, StackConfig

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
