"""Queue a Celery task by its name, so that a service never imports a tasks module.

Tasks are adapters: they take ids and call services, so they sit above the services. A service
that hands work to a worker (after commit, as the caller arranges) names the task instead. Each
app's `AppConfig.ready()` imports its tasks module, which registers the task in every process
that may queue it; an unknown name is a programming error and raises `KeyError`.
"""

from celery import current_app


def task_queue(name: str, *args, countdown: float | None = None) -> None:
    """Queue the registered task `name` with `args` (ids, never objects); eager Celery runs it at once."""
    current_app.tasks[name].apply_async(args=args, countdown=countdown)
