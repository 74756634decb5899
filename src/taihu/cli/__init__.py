"""The `taihu` command: assembles each context's command group and the server commands."""

from taihu.cli.main import app, main

__all__ = ["app", "main"]
