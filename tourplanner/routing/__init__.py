"""Route engine: craft-village graph, travel times and the OPTW/TOPTW solver.

Plain Python, no web or database imports. The planner calls :func:`solve` on a
:class:`Problem` built by :func:`tourplanner.routing.graph.build_problem`.
"""

from .check import check
from .problem import (
    InvalidProblem,
    MustVisitInfeasible,
    Problem,
    RoutingError,
    Solution,
    Stop,
)
from .solver import solve

__all__ = [
    "InvalidProblem",
    "MustVisitInfeasible",
    "Problem",
    "RoutingError",
    "Solution",
    "Stop",
    "check",
    "solve",
]
