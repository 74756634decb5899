"""Alembic migration scripts for every context's tables (run with `taihu db upgrade`)."""
