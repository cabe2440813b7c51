"""`listingwatch` commands for the index area."""

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    _ = app
