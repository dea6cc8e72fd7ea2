"""`mlops labels upload`: validate a file of ground truth and store it, encrypted, for the project's quality job."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from mlops.console import UserError, console
from mlops.project_context import ProjectOption

app = typer.Typer(help="Send ground truth (labels) for the served model's predictions.", no_args_is_help=True)

LABELS_BUCKET = "monitoring"
"""The project's bucket the quality job reads (stack output `bucket_names`), encrypted with its `models` key."""
LABELS_KEY = "models"


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="Labels: CSV or JSON lines of inference_id, label, event_time.")],
    *,
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")],
    project: ProjectOption = None,
    outputs: Annotated[
        Path | None,
        typer.Option(
            "--outputs", help="`pulumi stack output --json` of the project's deployed stack (<project>-<env>)."
        ),
    ] = None,
    capture: Annotated[
        Path | None,
        typer.Option(help="Data-capture files (a local copy): refuse labels for ids no captured prediction has."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="AWS endpoint override (an emulator such as moto_server).")
    ] = None,
) -> None:
    """Validate every label, then store the file once under <project>/labels/<yyyy>/<mm>/<dd>/<content hash>.jsonl.

    The labels go to the project's monitoring bucket, SSE-KMS with the project's models key, where its quality job
    reads them; the project's data engineers may write them (README "Who may do what"). Nothing is written unless
    every row is valid. Uploading the same labels again (a retry, or two runs at once) finds them stored and
    writes nothing.
    """
    from mlops.aws import aws_client
    from mlops.project_context import current_project
    from mlops.stack_context import load_context
    from mlops.workspace import root
    from pipelines.local_run import write_spec
    from pipelines.quality.labels import (
        LabelFileError,
        captured_ids,
        label_schema,
        labels_prefix,
        read_labels,
        upload_labels,
    )

    chosen = current_project(root(), project)
    context = load_context(root(), stack, outputs, chosen.name)
    bucket = (context.outputs.get("bucket_names") or {}).get(LABELS_BUCKET)
    key = (context.outputs.get("key_arns") or {}).get(LABELS_KEY)
    if not bucket or not key:
        raise UserError(
            f"{context.source}: the outputs lack bucket_names.{LABELS_BUCKET} or key_arns.{LABELS_KEY}; pass the "
            f"project stack's `pulumi stack output --json -s {chosen.name}-{context.config.environment}` as --outputs"
        )
    known = None
    if capture is not None:
        with tempfile.TemporaryDirectory() as folder:
            known = captured_ids(capture, write_spec(chosen.spec(), Path(folder)))
        if not known:
            raise UserError(f"{capture}: no captured prediction with an inference id; point --capture at capture files")
    try:
        labels = read_labels(file, label_schema(chosen.file.model.kind), known)
    except LabelFileError as error:
        raise UserError(str(error)) from None
    s3 = aws_client("s3", context.config.region, endpoint_url)
    result = upload_labels(s3, bucket, key, labels, labels_prefix(chosen.name))
    verb = "stored" if result.written else "already stored (same content), nothing written"
    console.print(f"{file}: {result.rows} label(s) {verb}: {result.uri} (SSE-KMS {key})")
