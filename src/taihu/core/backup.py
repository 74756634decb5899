"""Backups of the embedded default: the SQLite database copied live, with the data directory.

An archive is a gzip-compressed tar::

    manifest.json        format, Taihu version, time, schema revisions, every file's SHA-256
    data/taihu.sqlite3   the database, a consistent snapshot taken while the server serves
    data/…               the data directory's other files (the dev secret key, TLS material…)

The database is copied with SQLite's online backup API in one step: that holds one read
transaction for the whole copy, which in WAL mode never blocks the server's writers, and gives a
snapshot of one instant (a copy in small steps restarts whenever a writer commits, so under
steady ingest it might never end). Other SQLite files in the data directory (the demo's edge
buffer, say) belong to other processes and cannot be copied safely while written: they are left
out and named in the manifest. PostgreSQL is backed up with its own tools (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from taihu import __version__
from taihu.core.db import Database
from taihu.core.errors import Conflict, InvalidInput
from taihu.core.messages import N_
from taihu.core.migrate import alembic_config, head_revisions, upgrade
from taihu.settings import Settings

__all__ = [
    "DATABASE_FILE",
    "FORMAT",
    "Manifest",
    "Report",
    "database_in_use",
    "read_manifest",
    "restore_backup",
    "sqlite_path",
    "write_backup",
]

FORMAT = 1
DATABASE_FILE = "taihu.sqlite3"
MANIFEST = "manifest.json"
_DATA = PurePosixPath("data")
_SIDECARS = ("-wal", "-shm", "-journal")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_CHUNK = 1 << 20

# Called as a long step advances: (step, done, total); total 0 means unknown.
Report = Callable[[str, int, int], None]


def _quiet(_step: str, _done: int, _total: int) -> None:
    """A report that shows nothing."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an archive holds and how to check it."""

    created_at: str
    taihu_version: str
    schema: tuple[str, ...]
    files: dict[str, dict[str, str | int]]
    skipped: dict[str, str] = field(default_factory=dict)
    format: int = FORMAT

    def as_json(self) -> bytes:
        """The manifest as written into the archive."""
        body = {
            "format": self.format,
            "taihu_version": self.taihu_version,
            "created_at": self.created_at,
            "schema": list(self.schema),
            "files": self.files,
            "skipped": self.skipped,
        }
        return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """Parse a manifest, or ``InvalidInput`` naming what is wrong with it."""
        try:
            body = json.loads(raw)
            manifest = cls(
                format=int(body["format"]),
                taihu_version=str(body["taihu_version"]),
                created_at=str(body["created_at"]),
                schema=tuple(str(r) for r in body["schema"]),
                files={str(k): dict(v) for k, v in body["files"].items()},
                skipped={str(k): str(v) for k, v in body.get("skipped", {}).items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidInput(
                N_("the archive's manifest is unreadable: {exc}"), exc=str(exc)
            ) from exc
        if manifest.format != FORMAT:
            raise InvalidInput(
                N_("the archive is in backup format {format}; this Taihu reads {supported}"),
                format=manifest.format,
                supported=FORMAT,
            )
        if DATABASE_FILE not in manifest.files:
            raise InvalidInput(
                N_("the archive's manifest lists no {database_file}"), database_file=DATABASE_FILE
            )
        return manifest


def sqlite_path(settings: Settings) -> Path:
    """The SQLite database file, or ``InvalidInput`` when the settings point at PostgreSQL."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        raise InvalidInput(
            N_(
                "taihu backup and taihu restore handle the embedded SQLite database only; this "
                "node uses PostgreSQL (TAIHU_DATABASE_URL): back it up with pg_dump or a base "
                "backup with WAL archiving, as docs/operations.md describes"
            )
        )
    return Path(url.split(":///", 1)[1])


def database_in_use(path: Path) -> bool:
    """Whether another connection (a running server, a command) has the database open."""
    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0.2)
    try:
        # An exclusive lock is refused while any other connection holds the file open in WAL
        # mode, even an idle one, which is what a serving process's pool keeps.
        conn.execute("PRAGMA locking_mode=EXCLUSIVE")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.rollback()
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
    return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC


def _schema_of(path: Path) -> tuple[str, ...]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.OperationalError:
        return ()  # a database never migrated
    finally:
        conn.close()
    return tuple(sorted(str(r[0]) for r in rows))


def _snapshot(source: Path, target: Path, report: Report) -> None:
    """A consistent copy of a live database, made with SQLite's online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # pages=-1: one step, one read transaction, one instant (see the module docstring).
        src.backup(
            dst, pages=-1, progress=lambda _s, left, all_: report("database", all_ - left, all_)
        )
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _other_files(data_dir: Path, database: Path, skip: set[Path]) -> Iterator[tuple[Path, str]]:
    """The data directory's other files, as (path, why it is left out or "")."""
    own = {database.resolve(), *(Path(f"{database.resolve()}{s}") for s in _SIDECARS)}
    for path in sorted(data_dir.rglob("*")):
        resolved = path.resolve()
        hidden = any(part.startswith(".") for part in path.relative_to(data_dir).parts)
        # Hidden entries are drafts being written (Settings.secret_key's .NAME.PID) and the
        # working directories of a backup or restore under way.
        if resolved in own or resolved in skip or hidden or path.is_dir():
            continue
        if path.is_symlink() or not path.is_file():
            yield path, "not a regular file"
        elif path.name.endswith(_SIDECARS):
            continue  # belongs to a SQLite database beside it, itself left out
        elif _is_sqlite(path):
            yield path, "another process's SQLite database; back it up with that process stopped"
        else:
            yield path, ""


def write_backup(settings: Settings, archive: Path, report: Report = _quiet) -> Manifest:
    """Write a backup of the node's SQLite database and data directory to ``archive``."""
    database = sqlite_path(settings)
    if not database.exists():
        raise InvalidInput(
            N_("there is no database at {database} to back up"), database=str(database)
        )
    if archive.exists():
        raise Conflict(N_("{archive} exists already; choose a new file name"), archive=str(archive))
    data_dir = settings.data_dir
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".taihu-backup-", dir=archive.parent) as work:
        staged = Path(work) / DATABASE_FILE
        _snapshot(database, staged, report)
        members: dict[str, Path] = {DATABASE_FILE: staged}
        skipped: dict[str, str] = {}
        if data_dir.is_dir():
            for path, why in _other_files(data_dir, database, {archive.resolve()}):
                name = path.relative_to(data_dir).as_posix()
                if why:
                    skipped[name] = why
                    continue
                copy = Path(work) / "files" / name
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, copy)  # a copy, so the checksum is of what gets archived
                members[name] = copy
        total = sum(p.stat().st_size for p in members.values())
        done = 0
        files: dict[str, dict[str, str | int]] = {}
        for name, path in members.items():
            files[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
            done += path.stat().st_size
            report("checksums", done, total)
        manifest = Manifest(
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            taihu_version=__version__,
            schema=_schema_of(staged),
            files=files,
            skipped=skipped,
        )
        partial = Path(work) / "archive.partial"
        with tarfile.open(partial, "w:gz") as tar:
            raw = manifest.as_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(raw)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(raw))
            done = 0
            for name, path in members.items():
                tar.add(path, arcname=str(_DATA / name), recursive=False)
                done += path.stat().st_size
                report("archive", done, total)
        # Renamed into place whole: a backup interrupted half-way leaves no archive behind.
        partial.replace(archive)
    return manifest


def read_manifest(archive: Path) -> Manifest:
    """The manifest of an archive, or ``InvalidInput``."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise InvalidInput(N_("{archive} holds no manifest"), archive=str(archive))
            return Manifest.from_json(member.read())
    except KeyError as exc:
        raise InvalidInput(
            N_("{archive} is not a Taihu backup: it holds no {manifest}"),
            archive=str(archive),
            manifest=MANIFEST,
        ) from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(
            N_("{archive} is not a readable backup archive: {exc}"),
            archive=str(archive),
            exc=str(exc),
        ) from exc


def _unpack(archive: Path, manifest: Manifest, into: Path, report: Report) -> None:
    """Extract and verify every file the manifest lists, refusing anything else."""
    total = sum(int(f["size"]) for f in manifest.files.values())
    done = 0
    seen: set[str] = set()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST:
                    continue
                path = PurePosixPath(member.name)
                name = path.relative_to(_DATA).as_posix() if path.parts[:1] == ("data",) else ""
                if not member.isfile() or name not in manifest.files or ".." in path.parts:
                    raise InvalidInput(
                        N_("the archive holds {name!r}, which its manifest does not list"),
                        name=member.name,
                    )
                target = into / name
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a regular file, checked above
                digest = hashlib.sha256()
                with target.open("wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        done += len(chunk)
                        report("verify", done, total)
                if digest.hexdigest() != manifest.files[name]["sha256"]:
                    raise InvalidInput(
                        N_("{name} in the archive does not match its checksum"), name=name
                    )
                target.chmod(member.mode & 0o700 or 0o600)
                seen.add(name)
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise InvalidInput(
            N_("{archive} is damaged: {exc}"), archive=str(archive), exc=str(exc)
        ) from exc
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise InvalidInput(
            N_("the archive lacks {files}, which its manifest lists"), files=", ".join(missing)
        )


def _check_schema_known(manifest: Manifest) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    for revision in manifest.schema:
        try:
            scripts.get_revision(revision)
        except CommandError as exc:
            raise InvalidInput(
                N_(
                    "the backup's schema revision {revision} is unknown to this Taihu "
                    "({version}); restore it with the version that made it ({taihu_version}) or "
                    "newer"
                ),
                revision=revision,
                version=__version__,
                taihu_version=manifest.taihu_version,
            ) from exc


def _integrity(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    if verdict != [("ok",)]:
        raise InvalidInput(
            N_("the archived database fails its integrity check: {verdict}"),
            verdict=str(verdict[:3]),
        )


async def _migrate(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def restore_backup(
    settings: Settings,
    archive: Path,
    *,
    force: bool = False,
    report: Report = _quiet,
) -> Manifest:
    """Restore ``archive`` into the node's data directory, migrating an older schema up.

    Refuses a database another process has open, and a data directory with files in it unless
    ``force``. Nothing is replaced until every file is extracted and checked.
    """
    database = sqlite_path(settings)
    manifest = read_manifest(archive)
    _check_schema_known(manifest)
    if database_in_use(database):
        raise Conflict(
            N_(
                "the database {database} is in use (a server or command has it open); stop it "
                "before restoring"
            ),
            database=str(database),
        )
    data_dir = settings.data_dir
    present = [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.is_dir() else []
    if (present or database.exists()) and not force:
        raise Conflict(
            N_(
                "{data_dir} is not empty ({count} file(s)); restore into a new data directory, or "
                "pass --force to replace what is there"
            ),
            data_dir=str(data_dir),
            count=len(present),
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    database.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".taihu-restore-", dir=database.parent) as work:
        staged = Path(work)
        _unpack(archive, manifest, staged, report)
        _integrity(staged / DATABASE_FILE)
        if set(manifest.schema) != head_revisions():
            report("migrate", 0, 0)
            asyncio.run(_migrate(staged / DATABASE_FILE))
        targets = {n: database if n == DATABASE_FILE else data_dir / n for n in manifest.files}
        for target in targets.values():  # checked before anything is replaced
            if target.is_dir():
                raise Conflict(
                    N_("{target} is a directory; the archive has a file there"), target=str(target)
                )
        for suffix in _SIDECARS:  # the replaced database's journal must not be replayed
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        for name, target in targets.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged / name, target)
    return manifest
