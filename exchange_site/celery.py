"""The Celery app: configured from Django settings (CELERY_*), tasks from each app's tasks.py."""

import os
import warnings

from celery import Celery
from celery.exceptions import SecurityWarning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "exchange_site.settings")

# Celery warns on every start as root. What it guards against, a root worker unpickling a
# message, cannot happen here: the workers accept JSON only (CELERY_ACCEPT_CONTENT), and with
# pickle accepted Celery refuses to run as root at all. Where they run as root is the
# operator's choice (a development container, most often).
warnings.filterwarnings("ignore", category=SecurityWarning)

app = Celery("exchange_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
