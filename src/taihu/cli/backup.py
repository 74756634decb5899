"""`taihu backup` and `taihu restore`: the embedded SQLite node's database and data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from taihu.core import TaihuError
from taihu.core.backup import Report, restore_backup, write_backup
from taihu.core.commands import console, fail, load_settings

__all__ = ["backup", "restore"]

_STEPS = {
    "database": "copying the database",
    "checksums": "checksumming",
    "archive": "writing the archive",
    "verify": "extracting and verifying",
    "migrate": "migrating the schema",
}


@contextmanager
def _progress() -> Iterator[Report]:
    """A Rich progress display fed by the backup's reports (pages for the database, bytes else)."""
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(_STEPS.get(step, step), total=total or None)
            progress.update(tasks[step], completed=done, total=total or None)

        yield report


def _default_name() -> Path:
    return Path(f"taihu-backup-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz")


def backup(
    archive: Path | None = typer.Argument(
        None, help="File to write (default: taihu-backup-TIME.tar.gz here).", show_default=False
    ),
) -> None:
    """Back up the SQLite database (while serving) and the data directory into one archive."""
    settings = load_settings()
    target = archive or _default_name()
    try:
        with _progress() as report:
            manifest = write_backup(settings, target, report)
    except TaihuError as exc:
        fail(exc.message)
    size = target.stat().st_size
    console.print(
        f"backup written to {target} ({size:,} bytes): {len(manifest.files)} file(s), "
        f"schema {', '.join(manifest.schema) or 'empty'}",
        highlight=False,
        soft_wrap=True,
    )
    for name, why in manifest.skipped.items():
        console.print(f"left out {name}: {why}", style="yellow", highlight=False, soft_wrap=True)


def restore(
    archive: Path = typer.Argument(..., help="Archive written by `taihu backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace the database and files of a data directory not empty."
    ),
) -> None:
    """Restore an archive into the data directory (checked first; an older schema is migrated)."""
    settings = load_settings()
    if not archive.is_file():
        fail(f"no archive at {archive}")
    try:
        with _progress() as report:
            manifest = restore_backup(settings, archive, force=force, report=report)
    except TaihuError as exc:
        fail(exc.message)
    console.print(
        f"restored {len(manifest.files)} file(s) from the backup of {manifest.created_at} "
        f"(Taihu {manifest.taihu_version}) into {settings.data_dir}",
        highlight=False,
        soft_wrap=True,
    )
