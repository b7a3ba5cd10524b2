"""A steady load for the load observer's tests: each user GETs / twenty times a second."""

from locust import HttpUser, constant, task


class SteadyUser(HttpUser):
    wait_time = constant(0.05)

    @task
    def root(self) -> None:
        self.client.get("/")
