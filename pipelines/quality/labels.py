"""Labels in: validate a file of ground truth (inference_id, label, event_time) and store it encrypted.

A label names the prediction it judges by its inference id (see pipelines/steps/inference.py), the
true outcome, and when the outcome was observed. A file is refused whole when any row is wrong, with
one line per problem naming the file, the line, the column and the fix: an id no captured prediction
carries, an id twice, a value of the wrong type, a label outside the target's schema, a time without
a zone. Accepted labels are stored as canonical JSON lines (sorted by id) under
`<prefix><yyyy>/<mm>/<dd>/<sha256>.jsonl`, dated by the latest outcome in the file, with SSE-KMS under
the given key: the same labels always land on the same key and are written only if absent, so an
upload can be retried or run twice at once and writes one object.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError

COLUMNS = ("inference_id", "label", "event_time")
MAX_PROBLEMS = 20
"""Problems listed before the rest are counted; a file of 10,000 bad rows needs no 10,000 lines."""


@dataclass(frozen=True)
class LabelSchema:
    """What a label of the project's target may be."""

    problem: Literal["classifier", "regressor"]
    values: tuple[int, ...] = ()
    """A classifier's classes."""
    minimum: float | None = None
    maximum: float | None = None
    """A regressor's optional range."""

    def parse(self, raw: Any) -> int | float:
        """The label as its type, or ValueError saying what is wrong and what fits."""
        if self.problem == "classifier":
            try:
                number = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{raw!r} is not a class; use one of {list(self.values)}") from None
            if isinstance(raw, bool) or not number.is_integer():
                raise ValueError(f"{raw!r} is not a class; use one of {list(self.values)}")
            if int(number) not in self.values:
                raise ValueError(f"{int(number)} is outside the target's classes {list(self.values)}")
            return int(number)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{raw!r} is not a number; the target is numeric") from None
        if isinstance(raw, bool) or not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number; the target is numeric")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValueError(f"{value} is outside the target's range [{self.minimum}, {self.maximum}]")
        return value


def label_schema(kind: Literal["classifier", "regressor"]) -> LabelSchema:
    """What a label of a project's model may be: a classifier's 0 or 1, a regressor's finite number.

    kernel/projects.py requires a classifier's label to be Integral (1 the positive class).
    """
    return LabelSchema("classifier", (0, 1)) if kind == "classifier" else LabelSchema("regressor")


@dataclass(frozen=True)
class Problem:
    """One wrong value: where, and what to do."""

    file: Path
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class LabelFileError(ValueError):
    """A label file that cannot be accepted; nothing of it was written."""

    def __init__(self, file: Path, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems
        shown = [str(p) for p in problems[:MAX_PROBLEMS]]
        more = len(problems) - len(shown)
        tail = f" ({more} more not shown)" if more > 0 else ""
        super().__init__("\n".join([*shown, f"{file}: {len(problems)} problem(s){tail}; nothing was written"]))


@dataclass(frozen=True)
class Label:
    """One accepted label."""

    inference_id: str
    label: int | float
    event_time: datetime

    def to_json(self) -> str:
        """The stored line."""
        when = self.event_time.strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps({"inference_id": self.inference_id, "label": self.label, "event_time": when}, sort_keys=True)


def _rows(file: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """(line, row) of a CSV or JSON-lines file; LabelFileError for a file that is neither."""
    suffix = file.suffix.lower()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LabelFileError(file, [Problem(file, 0, "file", f"cannot read it ({error})")]) from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        header = reader.fieldnames or []
        missing = [c for c in COLUMNS if c not in header]
        extra = [c for c in header if c not in COLUMNS]
        if missing or extra:
            what = "; ".join(
                [*(f"lacks {c}" for c in missing), *(f"has {c}, which is not a label column" for c in extra)]
            )
            fix = f"the first row must be exactly {','.join(COLUMNS)}"
            raise LabelFileError(file, [Problem(file, 1, "header", f"{what}: {fix}")])
        return [(reader.line_num, dict(row)) for row in reader]
    if suffix in (".jsonl", ".json"):
        rows: list[tuple[int, dict[str, Any]]] = []
        problems = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                problems.append(Problem(file, number, "line", f"not JSON ({error.msg}); write one object per line"))
                continue
            if not isinstance(row, dict):
                problems.append(Problem(file, number, "line", f"expected an object with {', '.join(COLUMNS)}"))
                continue
            unknown = sorted(set(row) - set(COLUMNS))
            if unknown:
                problems.append(
                    Problem(file, number, unknown[0], f"not a label column; keep only {', '.join(COLUMNS)}")
                )
            rows.append((number, row))
        if problems:
            raise LabelFileError(file, problems)
        return rows
    raise LabelFileError(file, [Problem(file, 0, "file", f"{file.suffix or 'no suffix'}: name it .csv or .jsonl")])


def parse_time(raw: Any) -> datetime:
    """An ISO-8601 time with a zone, as UTC; ValueError naming the expected form."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{raw!r} is not a time; write ISO-8601 with a zone, e.g. 2026-11-29T10:00:00Z")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{raw!r} is not ISO-8601; write e.g. 2026-11-29T10:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{raw!r} has no zone; add Z (UTC) or an offset")
    return moment.astimezone(UTC)


def read_labels(file: Path, schema: LabelSchema, known_ids: set[str] | None = None) -> list[Label]:
    """Every label of `file`, or LabelFileError listing every problem (nothing is accepted then).

    `known_ids`: the inference ids of the captured predictions; a label for any other id is refused
    (None skips that check, for labels of predictions not captured here).
    """
    problems: list[Problem] = []
    labels: list[Label] = []
    seen: dict[str, int] = {}
    for line, row in _rows(file):
        missing = [c for c in COLUMNS if row.get(c) in (None, "")]
        for column in missing:
            problems.append(Problem(file, line, column, "missing; every row needs inference_id, label and event_time"))
        if missing:
            continue
        raw_id = row["inference_id"]
        if not isinstance(raw_id, str) or raw_id != raw_id.strip() or not raw_id.isprintable():
            problems.append(Problem(file, line, "inference_id", f"{raw_id!r} is not an id; write it as a string"))
            continue
        if raw_id in seen:
            problems.append(
                Problem(file, line, "inference_id", f"{raw_id} again (first on line {seen[raw_id]}); keep one")
            )
            continue
        seen[raw_id] = line
        if known_ids is not None and raw_id not in known_ids:
            problems.append(
                Problem(file, line, "inference_id", f"{raw_id}: no captured prediction has this id; check the id")
            )
            continue
        try:
            value = schema.parse(row["label"])
        except ValueError as error:
            problems.append(Problem(file, line, "label", str(error)))
            continue
        try:
            when = parse_time(row["event_time"])
        except ValueError as error:
            problems.append(Problem(file, line, "event_time", str(error)))
            continue
        labels.append(Label(raw_id, value, when))
    if not labels and not problems:
        problems.append(Problem(file, 1, "file", "no labels; write one row per labelled prediction"))
    if problems:
        raise LabelFileError(file, problems)
    return labels


def canonical(labels: list[Label]) -> bytes:
    """The stored content: JSON lines sorted by id, so the same labels are the same bytes whatever their file."""
    return "".join(label.to_json() + "\n" for label in sorted(labels, key=lambda label: label.inference_id)).encode()


def labels_prefix(project: str) -> str:
    """Where a project's labels live in its monitoring bucket (the quality job's `labels` input)."""
    return f"{project}/labels/"


def label_key(labels: list[Label], prefix: str = "labels/") -> str:
    """`<prefix><yyyy>/<mm>/<dd>/<sha256 of the content>.jsonl`, dated by the latest outcome."""
    latest = max(label.event_time for label in labels)
    return f"{prefix}{latest:%Y/%m/%d}/{hashlib.sha256(canonical(labels)).hexdigest()}.jsonl"


@dataclass(frozen=True)
class Upload:
    """Where the labels are and whether this call wrote them."""

    uri: str
    rows: int
    written: bool


def upload_labels(s3: Any, bucket: str, kms_key_arn: str, labels: list[Label], prefix: str = "labels/") -> Upload:
    """Store `labels` once, SSE-KMS with `kms_key_arn`; an object already at the key holds the same labels.

    A conditional write (`If-None-Match: *`) makes "write unless there" one atomic request: a retry or a
    concurrent upload of the same labels gets 412 Precondition Failed and changes nothing, and the
    uploader needs no read or list right on the bucket.
    """
    key = label_key(labels, prefix)
    uri = f"s3://{bucket}/{key}"
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=canonical(labels),
            ContentType="application/jsonl",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=kms_key_arn,
            ChecksumAlgorithm="SHA256",
            IfNoneMatch="*",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "PreconditionFailed":
            return Upload(uri, len(labels), written=False)
        raise
    return Upload(uri, len(labels), written=True)


def captured_ids(capture: Path, spec: Path) -> set[str]:
    """The inference ids of every prediction in the data-capture files under `capture` (`spec`: project.json)."""
    from pipelines.local_run import load_step_module

    quality = load_step_module("quality")
    always = quality.Window(
        start=datetime(1970, 1, 1, tzinfo=UTC), end=datetime(9999, 1, 1, tzinfo=UTC), labels_until=datetime.now(UTC)
    )
    counts = quality.CaptureCounts()
    steps_spec = load_step_module("dataset").load_spec(str(spec))
    return {str(row["inference_id"]) for row in quality.capture_rows(str(capture), always, counts, steps_spec)}
