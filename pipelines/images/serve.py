"""Answer one request with a model folder's own handlers, as the scikit-learn serving container does.

The container's inference toolkit puts `<model_dir>/code` on `sys.path`, imports the module named by
`SAGEMAKER_PROGRAM` and calls `model_fn`, `input_fn`, `predict_fn` and `output_fn`. This script does
the same with nothing but the image's own libraries, so the parity run proves the handlers work on
the image's Python and pins. Prints the response body. `--inference-id` plays the
`X-Amzn-SageMaker-Inference-Id` header SageMaker passes to the container.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def respond(
    model_dir: str,
    body: str,
    content_type: str,
    accept: str,
    *,
    program: str = "inference.py",
    inference_id: str | None = None,
) -> str:
    """The response body of one request; `inference_id` stands for the caller's `InferenceId` header."""
    sys.path.insert(0, str(Path(model_dir) / "code"))
    handlers = importlib.import_module(Path(program).stem)
    model = handlers.model_fn(model_dir)
    request = handlers.input_fn(body, content_type, inference_id)
    response: str = handlers.output_fn(handlers.predict_fn(request, model), accept)
    return response


def main(argv: list[str] | None = None) -> None:
    """Read the request body from `--body` (a file) and print the response."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--body", required=True, help="file holding the request body")
    parser.add_argument("--content-type", default="text/csv")
    parser.add_argument("--accept", default="text/csv")
    parser.add_argument("--inference-id", default=None, help="the caller's InvokeEndpoint InferenceId")
    args = parser.parse_args(argv)
    body = Path(args.body).read_text(encoding="utf-8")
    print(respond(args.model_dir, body, args.content_type, args.accept, inference_id=args.inference_id))


if __name__ == "__main__":
    main()
