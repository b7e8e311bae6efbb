"""The plan's targets as JSON: ``GET /api/v1/stats/targets`` (the dashboard's figures)."""

from __future__ import annotations

from flask import jsonify

from tourplanner.api import bp
from tourplanner.api.openapi import add_paths, add_schemas, add_tag, json_response, ref
from tourplanner.domain import targets
from tourplanner.services import stats


@bp.get("/stats/targets")
def stats_targets():
    return jsonify(stats.targets_json())


_NUMBER_OR_NULL = {"type": ["number", "null"]}
add_schemas(
    {
        "TargetFigure": {
            "type": "object",
            "required": ["value", "target_2030", "target_2050", "unit"],
            "additionalProperties": False,
            "properties": {
                "value": {"type": "number", "minimum": 0},
                "target_2030": _NUMBER_OR_NULL,
                "target_2050": _NUMBER_OR_NULL,
                "unit": {"type": "string", "enum": [targets.COUNT, targets.PERCENT]},
            },
        },
        "Targets": {
            "type": "object",
            "required": [t.key for t in targets.TARGETS],
            "additionalProperties": False,
            "properties": {t.key: ref("TargetFigure") for t in targets.TARGETS},
        },
    }
)
add_paths(
    {
        "/api/v1/stats/targets": {
            "get": {
                "tags": ["stats"],
                "summary": "The targets of Hanoi's craft-village plan: value now, 2030, 2050",
                "operationId": "getTargets",
                "description": "The same figures as the targets dashboard (/targets). A share "
                "is a percentage of the catalogue's villages (unit percent); a target the plan "
                "does not set for a horizon is null. Definitions: docs/targets.md.",
                "responses": {"200": json_response("Every target", ref("Targets"))},
            }
        }
    }
)
add_tag("stats", "Progress towards the plan's targets")
