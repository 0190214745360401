"""The assignment engine: candidates, an exact min-cost-flow solver, a greedy baseline, and plans.

Entry point for callers is `backend.assignments.services.auto_assign`; this package computes, and
`backend.assignments.plan_writer` writes what it computed.
"""

from .plan import Plan, plan_build, plan_describe
from .result import AutoAssignResult, Change

__all__ = ["AutoAssignResult", "Change", "Plan", "plan_build", "plan_describe"]
