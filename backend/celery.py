"""The Celery application; tasks live in the domain apps' tasks.py modules."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("fiscaliza")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
