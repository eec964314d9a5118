"""Progress of the world tools: a Meter protocol the tools report to, and its rich display."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text


class Meter(Protocol):
    """Where a tool reports how far it got: one stage at a time."""

    def stage(self, description: str, total: int | None, unit: str) -> None:
        """Begin a stage of `total` steps (None when unknown), each step one `unit`."""
        ...

    def advance(self, steps: int) -> None:
        """`steps` more steps of the current stage are done."""
        ...


class NoMeter:
    """A Meter that shows nothing (library use and tests)."""

    def stage(self, description: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, steps: int) -> None:
        pass


class _RateColumn(ProgressColumn):
    """Steps per second in the stage's unit, e.g. `81,234 messages/s`."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True))

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None and task.elapsed:
            speed = task.completed / task.elapsed  # too quick for rich to sample a speed
        shown = "…" if speed is None else f"{speed:,.0f}"
        return Text(f"{shown} {task.fields.get('unit', '')}/s", style="progress.data.speed")


class _RichMeter:
    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def stage(self, description: str, total: int | None, unit: str) -> None:
        self._finish()
        self._task = self._progress.add_task(description, total=total, unit=unit)

    def advance(self, steps: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, steps)

    def _finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[-1]
            if task.total is None:
                self._progress.update(self._task, total=task.completed)
            self._progress.stop_task(self._task)

    def close(self) -> None:
        self._finish()


@contextlib.contextmanager
def rich_meter(console: Console) -> Iterator[Meter]:
    """A Meter drawn as rich progress bars on `console`, one line a stage.

    Drawn only on a terminal: piped into a file or a log, progress bars are noise (the tools
    print a summary line with the totals and the rate when they finish).
    """
    progress = Progress(
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        # Redrawn 5 times a second: the bar costs nothing next to a million-row load.
        refresh_per_second=5,
        disable=not console.is_terminal,
    )
    meter = _RichMeter(progress)
    with progress:
        try:
            yield meter
        finally:
            meter.close()
