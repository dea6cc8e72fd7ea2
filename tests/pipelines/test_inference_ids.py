"""Every prediction carries an inference id a label can be joined with, on the endpoint and in batch.

Sources: botocore 1.44.5 `sagemaker-runtime` model (`InvokeEndpointInput.InferenceId` travels as the
`X-Amzn-SageMaker-Inference-Id` header, at most 64 printable characters, and "is added to the captured
data"); the sklearn image's serving stack (aws/sagemaker-containers `_worker.py`/`_transformer.py` at
913aa80: the handlers run inside the Flask request, Flask 3.1.3 in both the image and our lock).
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import flask
import pytest
from moto import mock_aws

from pipelines.images import image_of_step
from pipelines.lifecycle.batch import ACCEPT_WITH_IDS, batch_score
from pipelines.local_run import LocalTrainingRun, load_model_handlers
from pipelines.parity import PARITY_DIR, ParityRun, interpreter

HEADER = "X-Amzn-SageMaker-Inference-Id"


@pytest.fixture(scope="module")
def handlers(training_run: LocalTrainingRun) -> Any:
    """The handlers the churn model carries (they read the project.json beside them)."""
    return load_model_handlers(training_run.model_dir)


@pytest.fixture(scope="module")
def rows(training_run: LocalTrainingRun, handlers: Any) -> str:
    import pandas as pd

    frame = pd.read_csv(training_run.root / "data" / "test" / "test.csv").head(3)
    return str(frame[handlers.spec_of().features].to_csv(index=False))


def test_the_header_name_is_the_one_invoke_endpoint_sends(handlers: Any) -> None:
    model = botocore.session.get_session().get_service_model("sagemaker-runtime")
    member = model.operation_model("InvokeEndpoint").input_shape.members["InferenceId"]
    assert member.serialization == {"location": "header", "name": handlers.ID_HEADER}
    assert "added to the captured data" in member.documentation


def test_the_callers_inference_id_names_its_rows(training_run: LocalTrainingRun, handlers: Any, rows: str) -> None:
    model = handlers.model_fn(str(training_run.model_dir))
    app = flask.Flask("serving")
    with app.test_request_context("/invocations", method="POST", headers={HEADER: "order-42"}):
        answer = handlers.output_fn(handlers.predict_fn(handlers.input_fn(rows, "text/csv"), model), ACCEPT_WITH_IDS)
        one = handlers.input_fn(rows.splitlines()[0] + "\n" + rows.splitlines()[1], "text/csv")
    assert [line.split(",")[0] for line in answer.splitlines()] == ["order-42-0", "order-42-1", "order-42-2"]
    assert all(0.0 <= float(line.split(",")[1]) <= 1.0 for line in answer.splitlines())
    assert one.attrs["inference_ids"] == ["order-42"], "a one-row request is named by the caller's id itself"


def test_without_an_id_the_handler_assigns_one_and_returns_it(
    training_run: LocalTrainingRun, handlers: Any, rows: str
) -> None:
    model = handlers.model_fn(str(training_run.model_dir))
    first = handlers.output_fn(handlers.predict_fn(handlers.input_fn(rows), model), ACCEPT_WITH_IDS)
    second = handlers.output_fn(handlers.predict_fn(handlers.input_fn(rows), model), ACCEPT_WITH_IDS)
    ids = [line.split(",")[0] for line in first.splitlines()]
    base = ids[0].rsplit("-", 1)[0]
    assert uuid.UUID(base).version == 4 and ids == [f"{base}-{i}" for i in range(3)]
    assert set(ids).isdisjoint(line.split(",")[0] for line in second.splitlines()), "fresh ids per request"
    plain = handlers.output_fn(handlers.predict_fn(handlers.input_fn(rows), model), "text/csv")
    assert all(re.fullmatch(r"\d\.\d{6}", line) for line in plain.splitlines()), "text/csv stays one score a line"


def test_an_id_column_of_the_request_wins(training_run: LocalTrainingRun, handlers: Any, rows: str) -> None:
    lines = rows.splitlines()
    body = "\n".join([f"inference_id,{lines[0]}", *(f"c-{i},{line}" for i, line in enumerate(lines[1:]))])
    model = handlers.model_fn(str(training_run.model_dir))
    answer = handlers.output_fn(handlers.predict_fn(handlers.input_fn(body), model), "text/csv; inference-ids=true")
    assert [line.split(",")[0] for line in answer.splitlines()] == ["c-0", "c-1", "c-2"]


def test_ids_fit_invoke_endpoints_limit(handlers: Any) -> None:
    """A derived id must still be a valid InferenceId if a caller sends it back (1-64 printable characters)."""
    shape = botocore.session.get_session().get_service_model("sagemaker-runtime").shape_for("InferenceId")
    for inference_id in handlers.row_ids(None, 1000):
        assert 1 <= len(inference_id) <= shape.metadata["max"]


def test_batch_scoring_asks_for_the_id_column_and_the_handler_answers_it(
    training_run: LocalTrainingRun, handlers: Any, rows: str
) -> None:
    with mock_aws():
        client = boto3.client("sagemaker", region_name="eu-west-1")
        client.create_model(
            ModelName="m",
            PrimaryContainer={"Image": "img", "ModelDataUrl": "s3://b/m.tar.gz"},
            ExecutionRoleArn="arn:aws:iam::123456789012:role/r",
        )
        job = batch_score(
            client, model_name="m", input_uri="s3://in/rows/", output_uri="s3://out/scores/",
            instance_type="ml.m5.large", kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k", prefix="mlops-dev",
        )  # fmt: skip
        described = client.describe_transform_job(TransformJobName=job.name)
    assert described["TransformOutput"]["Accept"] == ACCEPT_WITH_IDS
    assert described["DataProcessing"]["JoinSource"] == "Input"
    model = handlers.model_fn(str(training_run.model_dir))
    answer = handlers.output_fn(handlers.predict_fn(handlers.input_fn(rows), model), ACCEPT_WITH_IDS)
    assert all(len(line.split(",")) == 2 for line in answer.splitlines())


def test_the_handlers_honour_the_id_on_the_serving_image(parity_run: ParityRun, rows: str, tmp_path: Path) -> None:
    """serve.py on the image's Python and pins (a model trained there), with the id SageMaker passes as the header."""
    body = tmp_path / "body.csv"
    body.write_text(rows, encoding="utf-8")
    python = interpreter(image_of_step("inference.py").key, PARITY_DIR)
    serve = Path(__file__).resolve().parents[2] / "pipelines" / "images" / "serve.py"
    done = subprocess.run(
        [str(python), "-E", "-s", str(serve), "--model-dir", str(parity_run.root / "model"), "--body", str(body),
         "--accept", ACCEPT_WITH_IDS, "--inference-id", "batch-7"],
        capture_output=True, text=True, check=True, timeout=120, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert [line.split(",")[0] for line in done.stdout.split()] == ["batch-7-0", "batch-7-1", "batch-7-2"]
