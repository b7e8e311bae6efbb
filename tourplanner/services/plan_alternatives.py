"""Alternatives that differ in kind (issue #17): besides the best day, a lighter one and one in
another part of the city, each with a one-line reason in the tourist's language.

* **Lighter** (``kind`` "lighter"): fewer stops and less driving than the best day. The best
  day's own stops (and lunch at one of their villages) are re-planned with one stop fewer and
  a road-time limit one minute under the best day's, so it keeps the best day's must-includes
  and its most interesting stops that still pay for their drive. There is none when the best
  day has one stop (or only must-includes).
* **Another part of the city** (``kind`` "elsewhere"): every village of the day (the lunch's
  too) in one *part of the city* of the craft-village graph (villages all within
  ``catalogue_graph.PART_MINUTES`` of each other by car), and that part is not the best day's
  only part: a day in another part when the best stays in one, a day that stays in one part
  when the best crosses the city. The parts with a stop that fits the day alone are ranked by
  an estimate (their best interest points up to the stop limit, less the pace's price of the
  nearest round trip) and the best one or two are planned with every other node excluded.
  With must-includes the day must keep them, so only their part can be chosen. There is none
  when no other part has a stop that fits.
* The remaining places (``alternatives`` counts the best day) go to the search's own
  alternatives (``kind`` "other"), as before.

Each extra plan is one more solver run on a small problem: only the nodes it may use (the
exact search when they are at most 10 candidates), capped in iterations and given at most
:data:`KIND_SHARE` of the solver's time limit after the main run (which keeps its whole
limit, so the best day is the one planned before these alternatives existed). The solver's
guarantees hold for each (feasible, within the road-time limit, deterministic per seed and
limit).

The reason (``why``: ``code`` and ``text`` in Vietnamese and English) is one line:
"Fewer stops and less driving: ...", "Stays west of the Red River, around Vạn Phúc", "Another
part of the city, around ...". West and east mean the right (south-western) and left
(north-eastern) banks, from the village's district (``catalogue_graph.bank_of``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask_babel import force_locale, gettext, ngettext

from tourplanner.routing import Problem, Solution

if TYPE_CHECKING:
    from tourplanner.services.planning import _Builder

#: Share of the solver's time limit the alternatives of other kinds may use, after the main run.
KIND_SHARE = 0.2
#: Of that share, the lighter day's part (its problem has at most the best day's stops).
LIGHTER_SHARE = 0.25
LIGHTER_ITERATIONS = 150
ELSEWHERE_ITERATIONS = 400
#: Parts of the city tried for the "elsewhere" day, best estimate first.
ELSEWHERE_TRIES = 2
LANGS = ("vi", "en")

Run = Callable[[Problem, float, int], Solution | None]


@dataclass
class Labelled:
    """A solution and what kind of alternative it is."""

    solution: Solution
    kind: str  # best | lighter | elsewhere | other
    details: dict[str, Any] = field(default_factory=dict)


def _visits(builder: _Builder, solution: Solution) -> list[int]:
    """The day's experience stops (not its lunch or shopping stop)."""
    return [n for n in solution.tours[0] if not builder.is_extra(n)]


def _stop_count(itinerary: Mapping[str, Any]) -> int:
    return sum(1 for s in itinerary["stops"] if s.get("kind") != "shopping")


def _key(builder: _Builder, solution: Solution) -> frozenset[int]:
    return frozenset(_visits(builder, solution))


def by_kind(
    builder: _Builder,
    found: Sequence[Solution],
    musts: frozenset[int],
    budget: float,
    run: Run,
) -> list[Labelled]:
    """The best day, the lighter day and the day in another part of the city (when they
    exist), then the search's other alternatives; distinct in their stops."""
    best = found[0]
    out = [Labelled(best, "best")]
    seen = {_key(builder, best)}
    lighter = _lighter(builder, best, musts, budget * LIGHTER_SHARE, run)
    if lighter is not None:
        out.append(Labelled(lighter, "lighter"))
        seen.add(_key(builder, lighter))
    spent = budget * LIGHTER_SHARE if lighter is not None else 0.0
    elsewhere = _elsewhere(builder, best, musts, max(budget - spent, 0.0), run, seen)
    if elsewhere is not None:
        solution, details = elsewhere
        out.append(Labelled(solution, "elsewhere", details))
        seen.add(_key(builder, solution))
    for other in found[1:]:
        if _key(builder, other) not in seen:
            seen.add(_key(builder, other))
            out.append(Labelled(other, "other"))
    return out


def _all_nodes(builder: _Builder) -> range:
    return range(1, builder.node_count())


def _lifted(builder: _Builder, solution: Solution | None, index: list[int]) -> Solution | None:
    return None if solution is None else builder.lift(solution, index)


def _fits(builder: _Builder, solution: Solution | None) -> bool:
    return bool(
        solution is not None
        and _visits(builder, solution)
        and sum(solution.travel) <= builder.request.travel_limit
    )


def _lighter(
    builder: _Builder, best: Solution, musts: frozenset[int], seconds: float, run: Run
) -> Solution | None:
    """The best day's stops, one fewer and with less driving (see the module text)."""
    visits = _visits(builder, best)
    if len(visits) < 2 or len(musts & set(visits)) >= len(visits):
        return None
    points = {builder.point_of(n) for n in best.tours[0]}
    keep = set(visits) | {
        builder.first_lunch + i for i, p in enumerate(builder.lunch_points) if p in points
    }
    moved = sum(best.travel)
    problem, index = builder.subproblem(
        musts,
        keep,
        stop_limit=len(visits) - 1,
        max_travel=min(builder.request.travel_limit, moved - 1),
    )
    solution = _lifted(builder, run(problem, seconds, LIGHTER_ITERATIONS), index)
    if not _fits(builder, solution):
        return None
    assert solution is not None
    if len(_visits(builder, solution)) < len(visits) and sum(solution.travel) < moved:
        return solution
    return None


def _alone(builder: _Builder, k: int) -> bool:
    """True if experience node ``k`` fits the day as its only stop."""
    req = builder.request
    node = builder.nodes[k - 1]
    there = int(builder.start_minutes[node.point])
    if 2 * there > req.travel_limit:
        return False
    if req.budget_vnd is not None and node.offer.price_vnd > req.budget_vnd:
        return False
    day_start = req.start_time.hour * 60 + req.start_time.minute
    day_end = req.end_time.hour * 60 + req.end_time.minute
    minutes = node.offer.duration
    for opens, closes in node.windows:
        begin = max(opens, day_start + there)
        if begin + minutes <= closes and begin + minutes + there <= day_end:
            return True
    return False


def _part(builder: _Builder, node: int) -> int:
    """The part of the city of a node: a shopping stop's is its village's (a sales point's own
    position belongs to no part), so a day with its shop stays in one part."""
    graph = builder.day.graph  # type: ignore[union-attr]
    if builder.is_shop(node):
        return int(graph.parts[builder.shops[node - builder.first_shop][0].village.point])
    return int(graph.parts[builder.graph_point(node)])


def _elsewhere(
    builder: _Builder,
    best: Solution,
    musts: frozenset[int],
    seconds: float,
    run: Run,
    seen: set[frozenset[int]],
) -> tuple[Solution, dict[str, Any]] | None:
    """A day in one part of the city that is not the best day's only part (module text)."""
    if builder.day is None:
        return None
    req = builder.request
    best_parts = {_part(builder, n) for n in best.tours[0]}
    must_parts = {_part(builder, m) for m in musts}
    if len(must_parts) > 1:
        return None
    scores: dict[int, list[float]] = {}
    trips: dict[int, int] = {}
    for k in range(1, len(builder.nodes) + 1):
        if not _alone(builder, k):
            continue
        part = _part(builder, k)
        if {part} == best_parts or (must_parts and part not in must_parts):
            continue
        scores.setdefault(part, []).append(builder.nodes[k - 1].offer.score)
        trip = 2 * int(builder.start_minutes[builder.point_of(k)])
        trips[part] = min(trips.get(part, trip), trip)
    weight = req.pace_rules.travel_weight

    def estimate(part: int) -> float:
        top = sorted(scores[part], reverse=True)[: req.stop_limit]
        return sum(top) - weight * trips[part]

    ranked = sorted(scores, key=lambda part: (-estimate(part), part))[:ELSEWHERE_TRIES]
    for n, part in enumerate(ranked):
        keep = [k for k in _all_nodes(builder) if _part(builder, k) == part]
        problem, index = builder.subproblem(
            musts, keep, stop_limit=req.stop_limit, max_travel=req.travel_limit
        )
        solution = _lifted(
            builder, run(problem, seconds / (len(ranked) - n), ELSEWHERE_ITERATIONS), index
        )
        if _fits(builder, solution):
            assert solution is not None
            if _key(builder, solution) not in seen:
                return solution, {"part": part, "best_parts": sorted(best_parts)}
    return None


# --- the words ------------------------------------------------------------------------------


def _villages(builder: _Builder, solution: Solution) -> list[Any]:
    """The day's villages (of its stops and lunch), in the day's order, each once."""
    out: list[Any] = []
    for n in solution.tours[0]:
        village = builder.point_village[builder.point_of(n)]
        if village not in out:
            out.append(village)
    return out


def _around(builder: _Builder, villages: Sequence[Any]) -> Any:
    """The village of the day nearest to all the others (least farthest drive)."""
    graph = builder.day.graph  # type: ignore[union-attr]
    return min(
        villages,
        key=lambda v: max((int(graph.minutes[v.point, w.point]) for w in villages), default=0),
    )


def _side(builder: _Builder, labelled: Labelled, best: Solution) -> str | None:
    """``right``/``left`` when the day stays on one bank of the Red River and the best day
    does not (it crosses, or stays on the other bank); None otherwise."""
    banks = {v.bank for v in _villages(builder, labelled.solution)}
    best_banks = {v.bank for v in _villages(builder, best)}
    if len(banks) != 1 or None in banks or None in best_banks or best_banks == banks:
        return None
    return next(iter(banks))


def reasons(
    builder: _Builder, labelled: Sequence[Labelled], itineraries: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One ``why`` per itinerary: ``{"code", "text": {"vi", "en"}}`` (plus the details the
    text was made from)."""
    best, best_it = labelled[0].solution, itineraries[0]
    best_names = {s["village"] for s in best_it["stops"]}
    out = []
    for item, it in zip(labelled, itineraries, strict=True):
        details: dict[str, Any] = {}
        if item.kind == "lighter":
            details = {
                "stops": _stop_count(it),
                "travel_minutes": it["totals"]["travel_minutes"],
                "best_stops": _stop_count(best_it),
                "best_travel_minutes": best_it["totals"]["travel_minutes"],
            }
        elif item.kind == "elsewhere":
            around = _around(builder, _villages(builder, item.solution))
            details = {
                "side": _side(builder, item, best),
                "around": {"slug": around.slug, "vi": around.name_vi, "en": around.name_en},
                "crosses": len(item.details.get("best_parts", [])) > 1,
            }
        elif item.kind == "other":
            names: dict[str, dict[str, str]] = {}
            for s in it["stops"]:
                if s["village"] not in best_names:
                    names.setdefault(s["village"], s["village_name"])
            details = {"villages": list(names.values())}
        text = {}
        for lang in LANGS:
            with force_locale(lang):
                text[lang] = _text(item.kind, details, lang)
        out.append({"code": item.kind, "text": text, **details})
    return out


def _text(kind: str, d: Mapping[str, Any], lang: str) -> str:
    if kind == "best":
        return gettext("The best match for your interests.")
    if kind == "lighter":
        return ngettext(
            "Fewer stops and less driving: %(num)s stop and %(travel)s min on the road "
            "instead of %(best)s and %(best_travel)s min.",
            "Fewer stops and less driving: %(num)s stops and %(travel)s min on the road "
            "instead of %(best)s and %(best_travel)s min.",
            d["stops"],
            travel=d["travel_minutes"],
            best=d["best_stops"],
            best_travel=d["best_travel_minutes"],
        )
    if kind == "elsewhere":
        place = d["around"].get(lang) or d["around"]["vi"]
        if d["side"] == "right":
            return gettext("Stays west of the Red River, around %(place)s.", place=place)
        if d["side"] == "left":
            return gettext("Stays east of the Red River, around %(place)s.", place=place)
        if d["crosses"]:
            return gettext("Stays in one part of the city, around %(place)s.", place=place)
        return gettext("Another part of the city, around %(place)s.", place=place)
    names = ", ".join(v.get(lang) or v["vi"] for v in d.get("villages", []))
    if names:
        return gettext("Other villages: %(names)s.", names=names)
    return gettext("Another mix of visits and workshops in the same villages.")
