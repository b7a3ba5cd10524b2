"""A locustfile that fails to import."""

from locust import DoesNotExist  # noqa: F401
