"""The assignment engine: candidates, an exact min-cost-flow solver, a greedy baseline, plans and their writing.

Entry point for callers is `backend.assignments.services.auto_assign`; this package is its machinery.
"""

from .plan import AutoAssignResult, Change, Plan, plan_apply, plan_build, plan_describe

__all__ = ["AutoAssignResult", "Change", "Plan", "plan_apply", "plan_build", "plan_describe"]
