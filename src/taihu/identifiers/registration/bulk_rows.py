"""Many rows into a table at once: one COPY on PostgreSQL, one prepared executemany on SQLite.

A batch writes thousands of handle, audit and change-log rows. Through the ORM or a Core
``executemany`` every row still passes the bind processors one by one, and asyncpg's
``executemany`` makes PostgreSQL plan and run one INSERT per row (about 10 µs of the database's
CPU each, measured). Here the caller hands over tuples whose values are already in the driver's
form (see ``bound``), and they go in as one binary ``COPY`` on PostgreSQL, or one prepared
statement over all tuples on SQLite, inside the session's transaction: a failure rolls back with
everything else the unit of work wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["bound", "insert_rows"]


def bound(session: AsyncSession, column: sa.Column[Any], value: object) -> object:
    """``value`` as the column's type hands it to the driver (e.g. a UTC time, SQLite text)."""
    dialect = session.get_bind().dialect
    # The dialect's own implementation: for SQLite that includes turning times into its text form.
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process is not None else value


async def insert_rows(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, values as ``bound`` gives them)."""
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _copy(session, table, columns, rows)
        return
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    # Names from the table definition, never from input; the values are bound parameters.
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608
    await connection.exec_driver_sql(statement, rows)


async def _copy(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert isinstance(driver, asyncpg.Connection)  # PostgreSQL is reached through asyncpg
    if not driver.is_in_transaction():
        # The adapter opens its transaction at the first statement; COPY must run inside it.
        await connection.execute(sa.text("SELECT 1"))
    try:
        await driver.copy_records_to_table(table.name, records=rows, columns=list(columns))
    except asyncpg.IntegrityConstraintViolationError as exc:
        # As an INSERT's would be: a concurrent write of the same key, safe to re-send.
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, exc) from exc
    except (asyncpg.TransactionRollbackError, asyncpg.LockNotAvailableError) as exc:
        raise sa.exc.OperationalError(f"COPY {table.name}", None, exc) from exc
