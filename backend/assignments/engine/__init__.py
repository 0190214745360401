"""The assignment engine: candidates, an exact min-cost-flow solver, a greedy baseline, plans and their writing.

Entry point for callers is `backend.assignments.services.auto_assign`; this package is its machinery.
The package itself imports nothing, so the selectors can use the pure rules (`engine.rules`)
without loading the plan writer, which sits at the services' level (`engine.plan`).
"""
