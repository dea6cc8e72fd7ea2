"""`mlops labels upload`: validate a file of ground truth and store it, encrypted, for the quality job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlops.console import UserError, console

app = typer.Typer(help="Send ground truth (labels) for the served model's predictions.", no_args_is_help=True)

LABELS_BUCKET = "monitoring"
"""The bucket the quality job reads (stack output `bucket_names`), encrypted with the `models` key."""
LABELS_KEY = "models"


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(help="Labels: CSV or JSON lines of inference_id, label, event_time.")],
    *,
    stack: Annotated[str, typer.Option("--stack", "-s", help="Stack name: dev, staging or prod.")],
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Project whose prefix holds the labels.")
    ] = None,
    outputs: Annotated[
        Path | None, typer.Option("--outputs", help="`pulumi stack output --json` of the deployed stack.")
    ] = None,
    capture: Annotated[
        Path | None,
        typer.Option(help="Data-capture files (a local copy): refuse labels for ids no captured prediction has."),
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="AWS endpoint override (an emulator such as moto_server).")
    ] = None,
) -> None:
    """Validate every label, then store the file once under labels/<yyyy>/<mm>/<dd>/<content hash>.jsonl.

    Nothing is written unless every row is valid. Uploading the same labels again (a retry, or two runs
    at once) finds them stored and writes nothing.
    """
    import boto3

    from mlops.cli import ROOT
    from mlops.stack_context import load_context
    from pipelines.quality.labels import CHURN_LABELS, LabelFileError, captured_ids, read_labels, upload_labels

    context = load_context(ROOT, stack, outputs)
    bucket = (context.outputs.get("bucket_names") or {}).get(LABELS_BUCKET)
    key = (context.outputs.get("key_arns") or {}).get(LABELS_KEY)
    if not bucket or not key:
        raise UserError(
            f"{context.source}: the outputs lack bucket_names.{LABELS_BUCKET} or key_arns.{LABELS_KEY}; "
            "pass the deployed stack's `pulumi stack output --json` as --outputs"
        )
    known = captured_ids(capture) if capture is not None else None
    if known is not None and not known:
        raise UserError(f"{capture}: no captured prediction with an inference id; point --capture at capture files")
    try:
        labels = read_labels(file, CHURN_LABELS, known)
    except LabelFileError as error:
        raise UserError(str(error)) from None
    s3 = boto3.client("s3", region_name=context.config.region, endpoint_url=endpoint_url)
    prefix = f"{project}/labels/" if project else "labels/"
    result = upload_labels(s3, bucket, key, labels, prefix)
    verb = "stored" if result.written else "already stored (same content), nothing written"
    console.print(f"{file}: {result.rows} label(s) {verb}: {result.uri} (SSE-KMS {key})")
