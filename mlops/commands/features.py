"""`mlops features ingest`: load a CSV file into a stack's feature group, validated, retried, resumable."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mlops.console import UserError, console
from mlops.project_context import ProjectOption

if TYPE_CHECKING:
    from kernel.feature_schema import FeatureGroupSchema

app = typer.Typer(help="Load data into the feature store.", no_args_is_help=True)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(help="CSV file with a header row of feature names.")],
    *,
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")],
    group: Annotated[str, typer.Option("--group", "-g", help="Feature group: its schema name or its full name.")],
    skip: Annotated[
        int, typer.Option(min=0, help="Leave out the first N records (an earlier run wrote them: it says how many).")
    ] = 0,
    project: ProjectOption = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="featurestore-runtime endpoint override.")
    ] = None,
) -> None:
    """Validate every record against the group's schema, then PutRecord each with bounded retries.

    Nothing is written unless every record is valid. A failed run says how many records it wrote;
    re-run with `--skip N` to resume after them, or without it to overwrite them with the same values.
    """
    from kernel import load_stack_file, stack_file
    from kernel.naming import Naming
    from mlops.project_context import current_project
    from mlops.workspace import root
    from pipelines.features.ingest import RecordValidationError, feature_store_client
    from pipelines.features.ingest import ingest as run

    config = load_stack_file(stack_file(stack, root()))
    chosen = current_project(root(), project)
    naming = Naming(config.name_prefix, config.environment, config.account_id, config.region, chosen.name)
    schemas = {schema.name: schema for schema in chosen.schemas}
    by_full_name = {naming.sagemaker(name): name for name in schemas}
    name = by_full_name.get(group, group)
    if name not in schemas:
        known = ", ".join(f"{short} ({naming.sagemaker(short)})" for short in sorted(schemas))
        raise UserError(f"--group {group!r}: no such feature group in {stack}; known: {known}")
    schema = schemas[name]
    records = _read(file, schema)
    try:
        report = run(
            feature_store_client(config.region, endpoint_url),
            naming.sagemaker(name),
            schema,
            records,
            skip=skip,
            on_batch=lambda progress: console.print(
                f"{progress.skipped + progress.written} of {len(records)} records written"
            ),
        )
    except RecordValidationError as error:
        lines = [
            f"{file}: row {p.index + 1} (line {p.index + 2}): {p.field}={p.value!r}: {p.message}"
            for p in error.problems
        ]
        raise UserError("\n".join([*lines, f"{file}: {len(lines)} invalid value(s); nothing was written"])) from None
    console.print(
        f"{naming.sagemaker(name)}: {report.written} record(s) written, {report.skipped} skipped, "
        f"{report.retries} retried write(s)"
    )


def _read(file: Path, schema: FeatureGroupSchema) -> list[dict[str, Any]]:
    """The file's rows typed per the schema; a missing file or header, or a row of the wrong width, is a clean error.

    A row with more cells than the header has values no feature is named for, and one with fewer leaves
    features out by accident (an empty cell is how a row leaves a feature unset): neither is sent.
    """
    try:
        with file.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            lines = [(reader.line_num, row) for row in reader if row]  # blank lines are no rows, as for DictReader
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise UserError(f"{file}: cannot read it as CSV ({error})") from None
    header = lines[0][1] if lines else []
    missing = [key for key in (schema.record_identifier, schema.event_time) if key not in header]
    if missing:
        raise UserError(f"{file}: the header lacks {', '.join(missing)}; the first row must name the features")
    unknown = [column for column in header if column not in schema.types]
    if unknown:
        raise UserError(
            f"{file}: the header names {', '.join(unknown)}, not features of {schema.name}; "
            f"remove the column(s) or add them to the schema (pipelines/features/{schema.name}.yaml)"
        )
    ragged = [
        f"{file}: row {index} (line {line}) has {len(row)} cells, the header has {len(header)}"
        for index, (line, row) in enumerate(lines[1:], start=1)
        if len(row) != len(header)
    ]
    if ragged:
        raise UserError("\n".join([*ragged, f"{file}: {len(ragged)} row(s) of the wrong width; nothing was written"]))
    return [schema.parse_row(dict(zip(header, row, strict=True))) for _, row in lines[1:]]
