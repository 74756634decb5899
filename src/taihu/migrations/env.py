"""Alembic environment: runs on the connection handed over by ``taihu.core.migrate``."""

from __future__ import annotations

from alembic import context

import taihu.accounts
import taihu.alarms
import taihu.chains
import taihu.devices
import taihu.enterprises
import taihu.identifiers
import taihu.monitor
import taihu.notices
import taihu.programmes
import taihu.reporting
import taihu.solutions
import taihu.surveys
from taihu.core import Base

# The contexts are imported for their side effect: their tables join Base.metadata, the
# target that tests/core/test_migrations.py compares every migrated schema with.
_CONTEXTS = (
    taihu.accounts,
    taihu.chains,
    taihu.devices,
    taihu.enterprises,
    taihu.identifiers,
    taihu.monitor,
    taihu.surveys,
    taihu.notices,
    taihu.programmes,
    taihu.reporting,
    taihu.solutions,
)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `taihu db upgrade`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds tables the way SQLite needs.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
