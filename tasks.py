"""`inv` entry point: the task collection lives in dbstack.tasks."""

from dbstack.tasks import ns  # noqa: F401
