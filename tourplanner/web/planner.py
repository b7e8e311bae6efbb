"""The day-trip planner pages: the form, a saved plan at /plans/<id>, its exports.

Progressive: the form is a plain HTML form POST (the server plans and redirects to the plan's
stable URL); ``static/js/planner.js`` enhances it (fetch, re-plan after removing a stop, ...).
"""

from __future__ import annotations

from flask import Response, request, url_for

from tourplanner.services import exports, planning
from tourplanner.web import bp


def _itinerary_arg() -> int:
    value = request.args.get("itinerary", "0")
    return int(value) if value.isdigit() else 0


@bp.get("/plans/<plan_id>.ics")
def plan_ics(plan_id: str):
    row = planning.get_plan(plan_id)
    index = _itinerary_arg()
    body = exports.to_ics(row, index, url=url_for("web.plan_page", plan_id=plan_id,
                                                  _external=True) if _has_page() else "")
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="tourplanner-{plan_id}-{index}.ics"'})


def _has_page() -> bool:
    from flask import current_app

    return "web.plan_page" in current_app.view_functions
