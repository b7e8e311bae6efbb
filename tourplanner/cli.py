"""Flask CLI commands: ``flask seed [--demo]``, ``flask catalogue import FILE`` / ``export``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from tourplanner.domain.errors import ValidationError
from tourplanner.services import catalogue_io


@click.command("seed")
@click.option("--demo", is_flag=True, help="Also load the sample schedules, capacities and prices.")
@click.option("--force", is_flag=True, help="Allow --demo outside the embedded set-up.")
def seed_command(demo: bool, force: bool) -> None:
    """Load the factual Hanoi craft-village catalogue (idempotent)."""
    from tourplanner.config import is_embedded

    if demo and not force and not is_embedded(current_app.config):
        click.echo(
            "error: --demo loads sample workshops and accounts; this is not the embedded "
            "set-up (production settings are present). Add --force if you mean it.",
            err=True,
        )
        sys.exit(1)
    click.echo(catalogue_io.seed(demo=demo))
    if demo:
        from tourplanner.services import accounts

        click.echo("demo accounts (sample data; passwords are shown only this once):")
        for account in accounts.seed_demo_accounts():
            where = f" for {account['village']}" if account["village"] else ""
            password = account["password"] or "(exists, password unchanged)"
            click.echo(
                f"  {account['role']}{where}: {account['email']} / {password}"
                "  (sign in at /village/login)"
            )


@click.group("catalogue")
def catalogue_group() -> None:
    """Import and export the catalogue (villages, products, experiences)."""


@catalogue_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Validate every row of FILE (.json, .csv, or a .zip of one of them with the photos its
    products name); write all rows and photos, or nothing if any row or photo is bad."""
    try:
        sections, files = catalogue_io.read_any(file)
        report = catalogue_io.import_sections(sections, files=files)
    except catalogue_io.ImportFailed as exc:
        for problem in exc.problems:
            click.echo(f"{file.name}: {problem}", err=True)
        click.echo(f"{len(exc.problems)} problem(s); nothing was imported.", err=True)
        sys.exit(1)
    except ValidationError as exc:
        click.echo(f"{file.name}: {exc.message}; nothing was imported.", err=True)
        sys.exit(1)
    click.echo(report.summary())
    if not report.changed:
        click.echo("Nothing changed.")


@catalogue_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
def export_command(fmt: str, output: Path | None) -> None:
    """Write the whole catalogue in the import format."""
    text = catalogue_io.export_text(fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


@click.group("users")
def users_group() -> None:
    """Accounts for village staff and admins."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 12 characters, not a common one.")
@click.option("--role", type=click.Choice(["village", "admin"]), required=True)
@click.option("--village", "village", help="Village slug (required for --role village).")
def create_user_command(email: str, password: str, role: str, village: str | None) -> None:
    """Create an account, or reset the password and role of an existing one."""
    from tourplanner.services import accounts

    try:
        user = accounts.create_user(email, password, role, village)
    except ValidationError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{user.role} account {user.email} ready")


@click.group("bookings")
def bookings_group() -> None:
    """Booking maintenance (Celery beat runs these when a worker is up)."""


@bookings_group.command("maintain")
def maintain_command() -> None:
    """Expire unanswered holds, queue reminders and hand pending notifications over."""
    from tourplanner.services import maintenance

    counts = maintenance.run_once()
    click.echo("; ".join(f"{name.replace('_', ' ')}: {n}" for name, n in counts.items()))


def register(app: Flask) -> None:
    app.cli.add_command(seed_command)
    app.cli.add_command(catalogue_group)
    app.cli.add_command(users_group)
    app.cli.add_command(bookings_group)
