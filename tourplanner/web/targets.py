"""The plan's targets: the public summary (/targets), the list behind each figure, the admins'
dashboard with trends (/admin/targets) and CSV exports. One service call per view."""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import lazy_gettext as _l

from tourplanner.domain.errors import NotFound
from tourplanner.services import stats
from tourplanner.web import bp
from tourplanner.web.auth import login_required
from tourplanner.web.downloads import attachment

TARGET_LABELS = {
    "villages_with_tourism": _l("Villages linked with tourism"),
    "tour_routes": _l("Published tour routes"),
    "products_digitised": _l("Village products digitised"),
    "ocop_village_share": _l("Villages with OCOP-certified products"),
    "ip_village_share": _l("Villages with products under IP protection"),
    "display_point_share": _l("Villages with a display space, sales point or online shop"),
    "newly_recognised_villages": _l("Villages newly recognised since 2025"),
    "crafts_restored": _l("Crafts at risk restored since 2025"),
}
TARGET_NOTES = {
    "villages_with_tourism": _l(
        "A village with a published bookable experience and a confirmed or attended booking "
        "in the last 12 months."
    ),
    "ocop_village_share": _l("Share of the catalogue's villages."),
    "ip_village_share": _l("Share of the catalogue's villages."),
    "display_point_share": _l("Share of the catalogue's villages."),
    "newly_recognised_villages": _l("Counted from the recognition year the city records."),
    "crafts_restored": _l("Counted from the restoration year the city records."),
}


def _page(template: str):
    return render_template(
        template, board=stats.dashboard(), labels=TARGET_LABELS, notes=TARGET_NOTES
    )


@bp.get("/targets")
def targets_summary():
    return _page("targets/summary.html")


@bp.get("/admin/targets")
@login_required("admin")
def admin_targets():
    return _page("targets/dashboard.html")


@bp.get("/targets.csv")
def targets_csv():
    return attachment(stats.targets_csv(), "targets.csv")


@bp.get("/targets/<key>")
def target_rows(key: str):
    try:
        figure = stats.figure(key)
    except NotFound:
        abort(404)
    return render_template(
        "targets/rows.html", figure=figure, labels=TARGET_LABELS, notes=TARGET_NOTES
    )


@bp.get("/targets/<key>.csv")
def target_rows_csv(key: str):
    try:
        return attachment(stats.rows_csv(key), f"{key}.csv")
    except NotFound:
        abort(404)
