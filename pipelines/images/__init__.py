"""Which container image each step script runs on, and what that image ships (`catalog.yaml`).

The catalog is read from the images' build files, with the source commit of each; the parity run
(`pipelines.parity`) executes every step on a locked environment of its image's Python and pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kernel import yaml_text

HERE = Path(__file__).parent
CATALOG = HERE / "catalog.yaml"
REQUIREMENTS = HERE / "requirements"

SKLEARN_IMAGE = "sklearn-1.9-0"
"""Preprocess, train, evaluate, baseline, drift, quality, and serving (the Clarify shadow model and endpoints)."""
SPARK_IMAGE = "spark-3.5"
"""The Spark ingestion step (`featureStore.ingestion.engine: spark`): SageMaker's Spark processing image."""
TRACKING_IMAGE = "distribution-3.2.0"
"""The track step: SageMaker Distribution ships mlflow and the sagemaker-mlflow request signer."""
STEP_IMAGES = {
    "dataset.py": SKLEARN_IMAGE,
    "preprocess.py": SKLEARN_IMAGE,
    "offline_query.py": SKLEARN_IMAGE,
    "train.py": SKLEARN_IMAGE,
    "evaluate.py": SKLEARN_IMAGE,
    "baseline.py": SKLEARN_IMAGE,
    "drift.py": SKLEARN_IMAGE,
    "quality.py": SKLEARN_IMAGE,
    "inference.py": SKLEARN_IMAGE,
    "track.py": TRACKING_IMAGE,
    "ingest_spark.py": SPARK_IMAGE,
}
"""Step script -> the image it runs in. `dataset.py` is imported by the others (and by inference),
`offline_query.py` by preprocess."""


class CatalogError(ValueError):
    """The image catalog is malformed or lacks an image; fix `pipelines/images/catalog.yaml`."""


@dataclass(frozen=True)
class ImageRecord:
    """One image as its build files describe it."""

    key: str
    framework: str
    """The SageMaker SDK's framework name for `image_uris.retrieve`."""
    version: str
    python: str
    """major.minor of the image's interpreter."""
    packages: dict[str, str]
    """Distribution name -> version the image installs."""
    source: dict[str, Any]
    """repository, commit, files: where the versions were read."""

    @property
    def requirements(self) -> Path:
        """The locked (hashed) requirements of the parity environment of this image."""
        return REQUIREMENTS / f"{self.key}.txt"


@cache
def catalog() -> dict[str, ImageRecord]:
    """Every image of `catalog.yaml`, by key."""
    raw = yaml_text.load(CATALOG.read_text(encoding="utf-8"))
    records = {}
    for key, entry in raw.items():
        try:
            records[key] = ImageRecord(
                key=key,
                framework=str(entry["framework"]),
                version=str(entry["version"]),
                python=str(entry["python"]),
                packages={str(name): str(version) for name, version in entry["packages"].items()},
                source=dict(entry["source"]),
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise CatalogError(f"{CATALOG}: {key}: missing or malformed {error}") from None
    return records


def image(key: str) -> ImageRecord:
    """The catalog entry `key`."""
    records = catalog()
    if key not in records:
        raise CatalogError(f"{CATALOG} has no image {key!r} (known: {', '.join(sorted(records))})")
    return records[key]


def image_of_step(script: str) -> ImageRecord:
    """The image a step script (`train.py`) runs in."""
    if script not in STEP_IMAGES:
        raise CatalogError(f"no image is chosen for pipelines/steps/{script}; add it to STEP_IMAGES")
    return image(STEP_IMAGES[script])
