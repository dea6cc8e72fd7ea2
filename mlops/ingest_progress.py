"""The live line of `mlops features ingest`: records written of all, records per second, retried, failed.

On a terminal it is a rich progress bar redrawn in place; piped (CI logs, files) it is one plain line
per batch, since a redrawn bar would leave control codes or nothing at all in a log.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mlops.console import console

if TYPE_CHECKING:
    from pipelines.features.ingest import IngestReport


class IngestProgress:
    """Shows an ingestion's `IngestReport` as it runs; `update` is safe to call from any thread."""

    def __init__(self, group: str, total: int, skipped: int) -> None:
        self.total, self.skipped = total, skipped
        self._live = console.is_terminal
        self._progress = Progress(
            TextColumn(f"{group}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "{task.fields[rate]:>7.1f} records/s, {task.fields[retried]} retried, {task.fields[failed]} failed"
            ),
            TimeElapsedColumn(),
            console=console,
            disable=not self._live,
        )
        self._task = self._progress.add_task("ingest", total=total, completed=skipped, rate=0.0, retried=0, failed=0)

    def __enter__(self) -> IngestProgress:
        self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._progress.stop()

    def update(self, report: IngestReport) -> None:
        """Show `report` (called after every batch of records written)."""
        done = report.skipped + report.written
        if self._live:
            self._progress.update(
                self._task, completed=done, rate=report.rate, retried=report.retries, failed=report.failed
            )
        else:
            console.print(
                f"{done} of {self.total} records written, {report.rate:.1f} records/s, "
                f"{report.retries} retried, {report.failed} failed"
            )
