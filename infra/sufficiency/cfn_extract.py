"""Extract the handler permissions of the CloudFormation types the plans use, from cfn-lint's bundled schemas.

cfn-lint (in uv.lock) ships AWS's CloudFormation resource provider schemas with their
`handlers.{create,read,update,delete}.permissions` and `tagging.permissions`. The extract is kept in the
repository (cfn_permissions.json) so the required operations are data anyone can read and diff; a test
re-extracts it from the installed cfn-lint and fails when they differ.

Run `python -m infra.sufficiency.cfn_extract` after upgrading cfn-lint.
"""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
from typing import Any

from kernel import yaml_text

HERE = Path(__file__).resolve().parent
TYPES_FILE = HERE / "cfn_types.yaml"
PERMISSIONS_FILE = HERE / "cfn_permissions.json"
HANDLERS = ("create", "read", "update", "delete")


def cfn_types() -> dict[str, Any]:
    """The Pulumi type token -> CloudFormation type table (cfn_types.yaml)."""
    document: dict[str, Any] = yaml_text.load(TYPES_FILE.read_text(encoding="utf-8"))
    types: dict[str, Any] = document["types"]
    return types


def extract() -> dict[str, Any]:
    """The permissions of every CloudFormation type the table names, from the installed cfn-lint."""
    import cfnlint  # type: ignore[import-untyped]

    schemas = Path(cfnlint.__file__).parent / "data" / "schemas"
    wanted = {entry["cfn"] for entry in cfn_types().values() if entry.get("cfn")}
    found: dict[str, Any] = {}
    for path in sorted((schemas / "resources").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        name = schema.get("typeName")
        if name in wanted:
            handlers = schema.get("handlers", {})
            found[name] = {h: handlers.get(h, {}).get("permissions", []) for h in HANDLERS}
            found[name]["tagging"] = (schema.get("tagging") or {}).get("permissions", [])
    missing = wanted - set(found)
    if missing:
        raise LookupError(f"cfn-lint's schemas have no {sorted(missing)}: fix infra/sufficiency/cfn_types.yaml")
    version = json.loads((schemas / "version.json").read_text(encoding="utf-8"))
    return {
        "source": {
            "package": "cfn-lint",
            "version": importlib.metadata.version("cfn-lint"),
            "schema_date": version["schema_date"],
            "path": "cfnlint/data/schemas/resources/*.json (handlers.*.permissions, tagging.permissions)",
        },
        "types": dict(sorted(found.items())),
    }


def render(document: dict[str, Any]) -> str:
    """The extract as the checked-in file's text."""
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def main() -> None:
    """Rewrite cfn_permissions.json from the installed cfn-lint."""
    PERMISSIONS_FILE.write_text(render(extract()), encoding="utf-8")
    print(f"wrote {PERMISSIONS_FILE.relative_to(HERE.parents[1])}")


if __name__ == "__main__":
    main()
