"""Turn a planned resource's inputs (the provider's camelCase) into the AWS API request it stands for.

The offline demo and the tests create resources in the AWS emulator from the plan itself, so what
they exercise is exactly what `pulumi up` would send, not a second hand-written copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def api_request(inputs: Mapping[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """PascalCase the keys (recursively), turn `tags` into `[{Key, Value}]`, drop unset values."""
    request: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in drop or value is None:
            continue
        if key == "tags":
            request["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(value.items())]
        else:
            request[key[:1].upper() + key[1:]] = _convert(value)
    return request


def _convert(value: Any) -> Any:
    if isinstance(value, Mapping):
        return api_request(value)
    if isinstance(value, list):
        return [_convert(item) for item in value]
    return value
