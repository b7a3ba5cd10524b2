"""Locust load for the demo stack's checkout service (http://127.0.0.1:18080).

A shopper browses the catalogue most of the time, sometimes places an order, looks it up again,
and rarely hits /health (as a load balancer would). Every request goes only to the host given
(the scenario's ``load.host``; the default below is the demo stack's loopback port).

Run by gameday in its own process (see docs/load.md); also runs as plain Locust:
    locust -f loadtests/checkout.py --headless -u 5 -r 5 -t 20s
"""

from __future__ import annotations

import random

from locust import HttpUser, between, task


class CheckoutShopper(HttpUser):
    host = "http://127.0.0.1:18080"
    wait_time = between(0.1, 0.5)

    def on_start(self) -> None:
        self.product_ids: list[int] = [1]
        self.order_ids: list[int] = []
        self.browse()

    @task(6)
    def browse(self) -> None:
        with self.client.get("/products", name="/products", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return
            try:
                ids = [int(item["id"]) for item in response.json()]
            except (ValueError, KeyError, TypeError):
                response.failure("the product list is not JSON with ids")
                return
            if ids:
                self.product_ids = ids

    @task(3)
    def order(self) -> None:
        body = {"product_id": random.choice(self.product_ids), "quantity": random.randint(1, 3)}
        with self.client.post("/orders", json=body, name="/orders", catch_response=True) as response:
            if response.status_code not in (200, 201):
                response.failure(f"status {response.status_code}")
                return
            try:
                order_id = int(response.json()["id"])
            except (ValueError, KeyError, TypeError):
                response.failure("the order has no id")
                return
            self.order_ids = [*self.order_ids[-19:], order_id]

    @task(1)
    def look_up_order(self) -> None:
        if self.order_ids:
            self.client.get(f"/orders/{random.choice(self.order_ids)}", name="/orders/[id]")

    @task(1)
    def health(self) -> None:
        self.client.get("/health", name="/health")
