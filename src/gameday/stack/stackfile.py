"""The demo stack's stack file (``stacks/demo.yaml``), written from its configuration.

The shipped scenarios take every name, port and URL of the demo stack from ``stacks/demo.yaml``; this
writes that file for the stack as configured (``GAMEDAY_DEMO_*_PORT``, ``GAMEDAY_DEMO_STACK``), so a
moved demo stack is one file, and the shipped file is this one at the default configuration (a test
pins that).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gameday.observe.receiver_defaults import DEFAULT_PATH
from gameday.stack.config import StackConfig
from gameday.stack.state import PG_ADMIN_DSN, REDIS_ADMIN_URL

_TEMPLATE = """\
# yaml-language-server: $schema=../schema/stack.schema.json
# The built-in demo stack (`gameday stack up`): the one place the shipped scenarios get its names, ports
# and URLs from. Moved it (GAMEDAY_DEMO_*_PORT, GAMEDAY_DEMO_STACK)? `gameday stack file -o stacks/demo.yaml`.
version: 1
name: {name}
platform: docker
environment: staging
toxiproxy: {{url: "{toxiproxy}"}}
prometheus: {{url: "{prometheus}"}}
alertmanager: {{url: "{alertmanager}", webhook_url: "{webhook}", external_url: "{alertmanager}"}}
endpoints:
  checkout: {{url: "{checkout}", description: "the checkout web service"}}
targets:
  checkout: {{container: {c_checkout}, description: "the checkout web service"}}
  postgres: {{container: {c_postgres}, description: "PostgreSQL, the orders database"}}
  redis: {{container: {c_redis}, description: "Redis, the product cache"}}
  postgres-path: {{proxy: postgres, description: "checkout -> PostgreSQL, through Toxiproxy"}}
  redis-path: {{proxy: redis, description: "checkout -> Redis, through Toxiproxy"}}
  checkout-spool: {{container: {c_checkout}, description: "checkout's order spool (disk_fill path /var/lib/checkout/spool)"}}
  checkout-db-role: {{postgres_role: checkout, dsn_env: {pg_env}, description: "checkout's database role"}}
  checkout-cache-user: {{redis_user: checkout, dsn_env: {redis_env}, description: "checkout's Redis ACL user"}}
  postgres-port: {{platform: port, port: {pg_proxy_port}, description: "the port checkout reaches PostgreSQL on (Toxiproxy's listener), for network faults"}}
# What may be faulted. A scenario cannot add to this list.
allow:
  docker: [{c_checkout}, {c_postgres}, {c_redis}]
  toxiproxy: [postgres, redis]
  postgres: [checkout]
  redis: [checkout]
  port: ["{pg_proxy_port}"]
"""


def demo_stack_file(config: StackConfig) -> str:
    """The text of the demo stack's stack file for this configuration."""
    # The stack file keeps the name 'demo' whatever GAMEDAY_DEMO_STACK says: scenarios say `stack: demo`.
    return _TEMPLATE.format(
        name="demo",
        toxiproxy=config.url(config.toxiproxy_port), prometheus=config.url(config.prometheus_port),
        alertmanager=config.url(config.alertmanager_port), checkout=config.url(config.checkout_port),
        webhook=config.url(config.webhook_port, DEFAULT_PATH),
        c_checkout=config.container_name("checkout"), c_postgres=config.container_name("postgres"),
        c_redis=config.container_name("redis"), pg_env=PG_ADMIN_DSN, redis_env=REDIS_ADMIN_URL,
        pg_proxy_port=config.postgres_proxy_port,
    )


_KUBERNETES_TEMPLATE = """\
# yaml-language-server: $schema=../schema/stack.schema.json
# The built-in demo stack on the local cluster's real node (`gameday stack up --platform kubernetes`). Moved it
# (GAMEDAY_DEMO_*_PORT, GAMEDAY_DEMO_STACK, GAMEDAY_STATE_DIR)?
# `gameday stack file --platform kubernetes -o stacks/demo-kubernetes.yaml`.
version: 1
name: demo-kubernetes
platform: kubernetes
environment: staging
platforms:
  kubernetes: {{kubeconfig: "{kubeconfig}"}}
toxiproxy: {{url: "{toxiproxy}"}}
prometheus: {{url: "{prometheus}"}}
alertmanager: {{url: "{alertmanager}", webhook_url: "{webhook}", external_url: "{alertmanager}"}}
endpoints:
  checkout: {{url: "{checkout}", description: "the checkout web service"}}
targets:
  checkout: {{platform: kubernetes, namespace: {ns}, kind: Deployment, name: checkout, container: checkout, description: "the checkout web service"}}
  postgres: {{platform: kubernetes, namespace: {ns}, kind: StatefulSet, name: postgres, container: postgres, description: "PostgreSQL, the orders database"}}
  redis: {{platform: kubernetes, namespace: {ns}, kind: Deployment, name: redis, container: redis, description: "Redis, the product cache"}}
  postgres-path: {{proxy: postgres, description: "checkout -> PostgreSQL, through Toxiproxy"}}
  redis-path: {{proxy: redis, description: "checkout -> Redis, through Toxiproxy"}}
  checkout-spool: {{platform: kubernetes, namespace: {ns}, kind: Deployment, name: checkout, container: checkout, description: "checkout's order spool (disk_fill path /var/lib/checkout/spool)"}}
  checkout-db-role: {{postgres_role: checkout, dsn_env: {pg_env}, description: "checkout's database role"}}
  checkout-cache-user: {{redis_user: checkout, dsn_env: {redis_env}, description: "checkout's Redis ACL user"}}
# What may be faulted. A scenario cannot add to this list.
allow:
  kubernetes: [{ns}/checkout, {ns}/postgres, {ns}/redis]
  toxiproxy: [postgres, redis]
  postgres: [checkout]
  redis: [checkout]
"""


def kubernetes_stack_file(config: StackConfig, kubeconfig: Path, environ: Mapping[str, str]) -> str:
    """The text of the stack file of the demo stack on the local cluster (``gameday stack up --platform
    kubernetes``): its targets are the workloads of the stack's namespace; ``kubeconfig`` is the local
    cluster's, written from ``~`` when it is under the home folder (so the shipped file fits every machine)."""
    from gameday.stack.kubernetes import namespace

    home = environ.get("HOME")
    shown = str(kubeconfig)
    if home and kubeconfig.is_relative_to(home):
        shown = "~/" + str(kubeconfig.relative_to(home))
    return _KUBERNETES_TEMPLATE.format(
        kubeconfig=shown, ns=namespace(config),
        toxiproxy=config.url(config.toxiproxy_port), prometheus=config.url(config.prometheus_port),
        alertmanager=config.url(config.alertmanager_port), checkout=config.url(config.checkout_port),
        webhook=config.url(config.webhook_port, DEFAULT_PATH),
        pg_env=PG_ADMIN_DSN, redis_env=REDIS_ADMIN_URL,
    )
