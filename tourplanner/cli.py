"""Flask CLI commands: ``flask seed [--demo]``, ``flask catalogue import FILE`` / ``export``,
``flask users create``, ``flask agencies create|api-key|suspend|reactivate``,
``flask bookings maintain``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app

from tourplanner.domain.errors import DomainError, ValidationError
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
                f"  {account['role']}{where}: {account['email']} / {password}  (sign in at /login)"
            )
        from tourplanner.services.reachability import seed_demo_channels

        # After the accounts: a village reached by its demo staff account keeps it alone.
        reached = seed_demo_channels()
        if reached:
            click.echo(f"  sample booking e-mails (bookings@<village>.example): {len(reached)}")
        _seed_demo_agency()
        from tourplanner.services.octo import seed_demo as seed_octo_demo

        click.echo(seed_octo_demo())
        from tourplanner.services.tour_routes import seed_demo_routes

        click.echo(f"  sample tour routes added: {len(seed_demo_routes())}  (see /routes)")


def _seed_demo_agency() -> None:
    from tourplanner.services import agencies

    agency = agencies.seed_demo_agency()
    password = agency["password"] or "(exists, password unchanged)"
    click.echo(
        f"  agency_admin for {agency['slug']}: {agency['admin_email']} / {password}"
        "  (sign in at /login)"
    )
    from tourplanner.services import packages

    slug = packages.seed_demo_package(agency["id"])
    click.echo(f"  sample package: /packages/{slug}")


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
    """Accounts for village staff, agency users and admins."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 12 characters, not a common one.")
@click.option(
    "--role",
    type=click.Choice(["village", "agency_admin", "agency_staff", "admin"]),
    required=True,
)
@click.option("--village", "village", help="Village slug (required for --role village).")
@click.option("--agency", "agency", help="Agency slug (required for the agency roles).")
def create_user_command(
    email: str, password: str, role: str, village: str | None, agency: str | None
) -> None:
    """Create an account, or reset the password and role of an existing one."""
    from tourplanner.services import accounts, agencies

    try:
        if role in ("agency_admin", "agency_staff"):
            user = agencies.set_agency_account(email, password, role, agency)
        else:
            user = accounts.create_user(email, password, role, village)
    except ValidationError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"{user.role} account {user.email} ready")


@click.group("agencies")
def agencies_group() -> None:
    """Travel agencies: create, API keys, suspend and reactivate."""


def _fail(exc: DomainError) -> NoReturn:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(1)


@agencies_group.command("create")
@click.argument("name")
@click.option("--email", required=True, help="Contact e-mail: the first agency admin's account.")
@click.option("--licence", "licence", help="Tour operator licence number.")
@click.option("--phone", help="Contact phone.")
@click.option(
    "--commission",
    default="10",
    show_default=True,
    help="The platform's commission, percent of the retail price (two decimals at most).",
)
@click.option("--slug", help="Short name in addresses (default: from NAME).")
def agency_create_command(
    name: str,
    email: str,
    licence: str | None,
    phone: str | None,
    commission: str,
    slug: str | None,
) -> None:
    """Create agency NAME and its first agency admin; prints the admin's password once."""
    from tourplanner.services import agencies

    try:
        agency = agencies.create_agency(
            name,
            email,
            licence_number=licence,
            phone=phone,
            commission_bp=agencies.percent_to_bp(commission),
            slug=slug,
        )
    except DomainError as exc:
        _fail(exc)
    click.echo(f"agency {agency['slug']} created: {agency['name']}")
    click.echo(
        f"agency_admin {agency['admin_email']} / {agency['password']}"
        "  (shown only this once; sign in at /login)"
    )


@agencies_group.command("api-key")
@click.argument("agency_slug")
@click.option("--label", default="", help="What the key is for.")
@click.option("--test", "test_mode", is_flag=True, help="A test-mode key (bookings reach no one).")
def agency_api_key_command(agency_slug: str, label: str, test_mode: bool) -> None:
    """Create an API key for AGENCY_SLUG; the key is the last line (shown only this once)."""
    from tourplanner.services import agencies

    try:
        agency = agencies.get_agency_by_slug(agency_slug)
        key_id, raw = agencies.create_api_key(agency["id"], label, test_mode=test_mode)
    except DomainError as exc:
        _fail(exc)
    mode = "test" if test_mode else "live"
    click.echo(f"{mode} API key {key_id} for {agency['slug']} (stored hashed; shown only once):")
    click.echo(raw)


@agencies_group.command("suspend")
@click.argument("slug")
def agency_suspend_command(slug: str) -> None:
    """Suspend agency SLUG: its sessions end, sign-in and API keys are refused."""
    _set_agency_state(slug, active=False)


@agencies_group.command("reactivate")
@click.argument("slug")
def agency_reactivate_command(slug: str) -> None:
    """Reactivate agency SLUG."""
    _set_agency_state(slug, active=True)


def _set_agency_state(slug: str, *, active: bool) -> None:
    from tourplanner.services import agencies

    try:
        agency_id = agencies.get_agency_by_slug(slug)["id"]
        change = agencies.reactivate_agency if active else agencies.suspend_agency
        agency = change(agency_id)
    except DomainError as exc:
        _fail(exc)
    click.echo(f"agency {agency['slug']} {'active' if agency['active'] else 'suspended'}")


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
    app.cli.add_command(agencies_group)
    app.cli.add_command(bookings_group)
