"""The files ``gameday init`` writes for what it found, as text: a stack file, starter scenarios, runbook
skeletons and suggested alert rules. Pure: ``starter_files(found, options) -> {relative path: text}``.

    stacks/<stack>.yaml                     platform, endpoints, targets; the allowlist empty, with what it could hold
    scenarios/<stack>-<service>-kill.yaml   every service
    scenarios/<stack>-<s>-<dep>-latency.yaml / -outage.yaml   a dependency named by a variable (through Toxiproxy)
    scenarios/<stack>-<service>-disk-fill.yaml               a writable volume
    scenarios/<stack>-<db>-credentials.yaml                  a PostgreSQL role / Redis user a dependent logs in as
    runbooks/<stack>-<service>-down.md, runbooks/<stack>-<s>-<dep>-slow.md   pass ``gameday runbook lint``
    alerts/<stack>.rules.yml                 suggested Prometheus rules, each with a runbook_url

Every scenario says ``stack: <stack>`` and names targets of the stack file; what a person must decide is
said in comments where it is decided (and printed by ``gameday init``).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass

from gameday.init.discover import Dependency, Found, FoundService

TOXIPROXY_DEFAULT = "http://127.0.0.1:8474"


@dataclass(frozen=True)
class InitOptions:
    stack: str
    toxiproxy: str | None = None
    """Toxiproxy's API URL, when the person gave one (``--toxiproxy``)."""
    prometheus: str | None = None
    alertmanager: str | None = None
    written_by: str = "gameday init"


@dataclass(frozen=True)
class Route:
    """A dependency that traffic could take through Toxiproxy: who, to whom, through which variable."""

    service: FoundService
    dependency: Dependency

    @property
    def proxy(self) -> str:
        return f"{self.service.name}-to-{self.dependency.service}"

    @property
    def slug(self) -> str:
        return f"{self.service.name}-{self.dependency.service}"

    def listen_port(self) -> int:
        """A suggested port for the proxy to listen on (the upstream's plus 20000, kept in range)."""
        port = self.dependency.port or 1
        return port + 20000 if port + 20000 < 65536 else port - 10000 if port > 10000 else port + 30000


def routes(found: Found) -> list[Route]:
    """Dependencies named by a variable on a known port: the ones Toxiproxy can sit in the middle of."""
    return [Route(s, d) for s in found.services for d in s.depends if d.env and d.port]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "service"


def camel(text: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return json.dumps(text)


def credentials_targets(found: Found) -> dict[str, tuple[FoundService, str, str]]:
    """target name -> (database service, role or user, its platform) for each login a dependent's URL names."""
    out: dict[str, tuple[FoundService, str, str]] = {}
    for svc in found.services:
        platform = {"postgres": "postgres", "redis": "redis"}.get(svc.kind)
        if platform is None:
            continue
        for _, dep in found.dependents(svc.name):
            user = dep.user or ("default" if platform == "redis" and dep.env else "")
            if user:
                kind = "role" if platform == "postgres" else "user"
                out[f"{svc.name}-{kind}-{slug(user)}"] = (svc, user, platform)
    return out


def admin_env(stack: str, service: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{stack}_{service}_ADMIN_URL".upper())


def _endpoint(svc: FoundService) -> str | None:
    return svc.name if svc.kind == "http" and svc.ports else None


class Generator:
    """Text for each file, from one discovery."""

    def __init__(self, found: Found, options: InitOptions) -> None:
        self.found = found
        self.options = options
        self.stack = options.stack
        self.routes = routes(found)
        self.credentials = credentials_targets(found)

    # --- names ------------------------------------------------------------------------------

    def scenario_name(self, *parts: str) -> str:
        return slug("-".join((self.stack, *parts)))

    def runbook_down(self, svc: FoundService) -> str:
        return f"{self.scenario_name(svc.name, 'down')}.md"

    def runbook_slow(self, route: Route) -> str:
        return f"{self.scenario_name(route.slug, 'slow')}.md"

    def alert_down(self, svc: FoundService) -> str:
        return f"{camel(self.stack)}{camel(svc.name)}Down"

    def header(self) -> str:
        return (f"# Written by `{self.options.written_by}` from {self.found.source}. Edit freely: running it again\n"
                "# adds what is new and never overwrites a file you changed.\n")

    # --- the stack file -------------------------------------------------------------------------

    def target_line(self, svc: FoundService) -> str:
        what = f"{svc.kind}" + (f", port {', '.join(map(str, svc.ports))}" if svc.ports else "")
        if self.found.platform == "compose":
            return f"  {svc.name}: {{platform: compose, service: {svc.name}, description: {_q(what)}}}"
        return f"  {svc.name}: {{platform: docker, container: {svc.container}, description: {_q(what)}}}"

    def stack_file(self) -> str:
        found = self.found
        lines = ["# yaml-language-server: $schema=../schema/stack.schema.json", self.header().rstrip("\n"),
                 "version: 1", f"name: {self.stack}", f"platform: {found.platform}",
                 "environment: staging       # production: every fault is refused unless a run passes --allow-production"]
        if found.platform == "compose":
            lines += ["platforms:", f"  compose: {{project: {found.project}}}   # the Compose project (docker compose -p)"]
        toxiproxy = self.options.toxiproxy
        if toxiproxy:
            lines.append(f"toxiproxy: {{url: {_q(toxiproxy)}}}")
        elif self.routes:
            lines.append(f"# toxiproxy: {{url: {_q(TOXIPROXY_DEFAULT)}}}   # decide: where Toxiproxy runs (latency "
                         "and outage scenarios need it)")
        for name, url in (("prometheus", self.options.prometheus), ("alertmanager", self.options.alertmanager)):
            lines.append(f"{name}: {{url: {_q(url)}}}" if url else
                         f"# {name}: {{url: \"http://127.0.0.1:{9090 if name == 'prometheus' else 9093}\"}}")
        lines.append("#   alertmanager also takes webhook_url (where it posts gameday's webhook) and external_url (the "
                     "externalURL it sends; `gameday doctor` shows it): docs/alerting.md")
        endpoints = [s for s in found.services if _endpoint(s)]
        if endpoints:
            lines.append("endpoints:")
            for svc in endpoints:
                guessed = " (port guessed from its command line or variables)" if svc.ports_guessed else ""
                lines.append(f"  {svc.name}: {{url: {_q(f'http://127.0.0.1:{svc.ports[0]}')}, "
                             f"description: {_q(f'{svc.name}{guessed}')}}}")
        lines.append("targets:")
        lines += [self.target_line(s) for s in found.services]
        for route in self.routes:
            lines.append(f"  {route.proxy}: {{proxy: {route.proxy}, description: "
                         f"{_q(f'{route.service.name} -> {route.dependency.service} through Toxiproxy')}}}")
        for name, (svc, user, platform) in self.credentials.items():
            key = "postgres_role" if platform == "postgres" else "redis_user"
            lines.append(f"  {name}: {{platform: {platform}, {key}: {user}, dsn_env: {admin_env(self.stack, svc.name)}, "
                         f"description: {_q(f'{user} on {svc.name}')}}}")
        allow: dict[str, list[str]] = {found.platform: [s.name if found.platform == "compose" else s.container
                                                        for s in found.services]}
        if self.routes:
            allow["toxiproxy"] = [r.proxy for r in self.routes]
        for _, (_, user, platform) in self.credentials.items():
            allow.setdefault(platform, []).append(user)
        lines += ["# What may be faulted: nothing, until whoever owns this stack lists it here. A scenario cannot",
                  "# add to it. What gameday init found could be:"]
        lines += [f"#   {platform}: [{', '.join(dict.fromkeys(names))}]" for platform, names in allow.items()]
        lines.append("allow: {}")
        return "\n".join(lines) + "\n"

    # --- scenarios ------------------------------------------------------------------------------

    def probes(self, services: list[FoundService]) -> list[str]:
        lines: list[str] = []
        for svc in services:
            if _endpoint(svc):
                lines += [f"    - name: {svc.name}",
                          (f"      http: {{endpoint: {svc.name}, path: /, max_latency: 1s, timeout: 3s}}   "
                          "# decide: its health path"),
                          "      interval: 1s"]
            elif svc.ports:
                lines += [f"    - name: {svc.name}", f"      tcp: {{port: {svc.ports[0]}}}", "      interval: 1s"]
        return lines

    def scenario(self, *, name: str, description: str, tags: list[str], watched: list[FoundService],
                 fault: list[str], runbook: str | None, decide: list[str], severity: str = "SEV2") -> str:
        lines = ["# yaml-language-server: $schema=../schema/scenario.schema.json", self.header().rstrip("\n")]
        lines += [f"# Decide: {d}" for d in decide]
        lines += ["version: 1", f"name: {name}", "description: >"]
        lines += [f"  {line}" for line in _wrap(description)]
        lines += [f"tags: [{', '.join(['init', *tags])}]", f"severity: {severity}", f"stack: {self.stack}"]
        probes = self.probes(watched)
        if probes:
            lines += ["steady_state:", "  probes:", *probes, "  healthy_checks: 2", "  timeout: 60s"]
        lines += ["faults:", *fault, "expect:", "  recovers_within: 60s"]
        if runbook:
            lines.append(f"runbook: ../runbooks/{runbook}")
        return "\n".join(lines) + "\n"

    def watched(self, svc: FoundService) -> list[FoundService]:
        """The service and those that depend on it: where a fault on it shows."""
        return [svc, *[s for s, _ in self.found.dependents(svc.name) if s is not svc]]

    def kill_scenario(self, svc: FoundService) -> str:
        restart = svc.restart if svc.restart not in ("", "no") else ""
        back = (f"restart: {restart}, so Docker restarts it as after a crash; the scenario measures how fast"
                if restart else "nothing restarts it (restart: no): the runbook, or the harness's revert, starts it")
        dependents = ", ".join(s.name for s, _ in self.found.dependents(svc.name))
        return self.scenario(
            name=self.scenario_name(svc.name, "kill"),
            description=(f"{svc.name} is killed (SIGKILL), as if it crashed. {back}."
                         + (f" Watched: {dependents}, which depend on it." if dependents else "")),
            tags=[svc.name, "kill"], watched=self.watched(svc),
            fault=[f"  - name: kill-{slug(svc.name)}", "    kind: container_kill", f"    target: {svc.name}",
                   "    duration: 20s"],
            runbook=self.runbook_down(svc),
            decide=[("which probes must go red while it is down (expect.probes), and which alerts must page "
                    "(expect.alerts)")])

    def route_scenarios(self, route: Route) -> dict[str, str]:
        dep = route.dependency
        upstream = f"{dep.host}:{dep.port}"
        reroute = (f"route {route.service.name}'s traffic to {dep.service} through Toxiproxy first: create the proxy "
                   f"{route.proxy} (listen 127.0.0.1:{route.listen_port()}, upstream {upstream}) and set "
                   f"{route.service.name}'s {dep.env} to use 127.0.0.1:{route.listen_port()} instead of {upstream}")
        latency = self.scenario(
            name=self.scenario_name(route.slug, "latency"),
            description=(f"500 ms of added latency between {route.service.name} and {dep.service} (a Toxiproxy "
                         f"latency toxic on the proxy {route.proxy}); {route.service.name} should slow down, "
                         "not fail, and recover when the toxic goes."),
            tags=[route.service.name, dep.service, "latency"], severity="SEV3",
            fault=[f"  - name: slow-{slug(dep.service)}", "    kind: latency", f"    target: {route.proxy}",
                   "    args: {latency: 500ms, jitter: 0ms, direction: downstream}", "    duration: 20s"],
            watched=[route.service], runbook=self.runbook_slow(route),
            decide=[reroute, "the latency your users would notice"])
        outage = self.scenario(
            name=self.scenario_name(route.slug, "outage"),
            description=(f"{dep.service} cannot be reached from {route.service.name} (the Toxiproxy proxy "
                         f"{route.proxy} is disabled); {route.service.name} should fail gracefully and recover."),
            tags=[route.service.name, dep.service, "outage"],
            fault=[f"  - name: cut-{slug(dep.service)}", "    kind: proxy_down", f"    target: {route.proxy}",
                   "    duration: 20s"],
            watched=[route.service], runbook=self.runbook_slow(route), decide=[reroute])
        return {f"scenarios/{self.scenario_name(route.slug, 'latency')}.yaml": latency,
                f"scenarios/{self.scenario_name(route.slug, 'outage')}.yaml": outage}

    def disk_scenario(self, svc: FoundService, path: str) -> str:
        return self.scenario(
            name=self.scenario_name(svc.name, "disk-fill"),
            description=(f"{path} in {svc.name} (a writable volume) gets 64 MB less free space; {svc.name} should "
                         "keep working or fail loudly, and the space comes back when the fill file is deleted."),
            tags=[svc.name, "disk"], watched=[svc],
            fault=[f"  - name: fill-{slug(svc.name)}", "    kind: disk_fill", f"    target: {svc.name}",
                   "    # A named volume lives on the host's disk: the fill is refused unless you decide it may",
                   "    # be filled there (allow_root_filesystem: true). Choose the goal: write, free_left, percent_used.",
                   f"    args: {{path: {path}, write: 64MB}}", "    duration: 20s"],
            runbook=self.runbook_down(svc),
            decide=["how full the volume may get (args), and whether filling it on the host's disk is acceptable"])

    def credentials_scenario(self, name: str, svc: FoundService, user: str, platform: str) -> str:
        what = "role" if platform == "postgres" else "ACL user"
        return self.scenario(
            name=self.scenario_name(name, "revoked"),
            description=(f"The {what} {user} on {svc.name} can no longer log in; its clients should fail "
                         "clearly (not hang) and recover when the credentials come back."),
            tags=[svc.name, "credentials"], watched=self.watched(svc)[1:] or [svc],
            fault=[f"  - name: revoke-{slug(user)}", "    kind: revoke_credentials", f"    target: {name}",
                   "    duration: 20s"],
            runbook=self.runbook_down(svc),
            decide=[(f"export {admin_env(self.stack, svc.name)} with an admin connection URL for {svc.name} "
                    "(never written in a file)")])

    # --- runbooks -----------------------------------------------------------------------------

    def compose_cli(self) -> str:
        found = self.found
        argv = list(found.command.argv) if found.command else ["docker", "compose"]
        argv += ["-p", found.project]
        for file in found.files.files if found.files else ():
            argv += ["-f", file]
        return shlex.join(argv)

    def _state_check(self, svc: FoundService) -> list[str]:
        """A {run} block that waits until the service runs (and is healthy, if it has a health check)."""
        want = "running healthy" if svc.healthcheck else "running "
        if self.found.platform == "compose":
            find = f"  id=$({self.compose_cli()} ps -q {shlex.quote(svc.name)})"
        else:
            find = f"  id={shlex.quote(svc.container)}"
        return ["```sh {run timeout=60s}", "for i in $(seq 45); do", find,
                ("  state=$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "
                "\"$id\")"),
                f"  [ \"$state\" = \"{want}\" ] && exit 0", "  sleep 1", "done",
                f"echo \"{svc.name} is still $state\" >&2", "exit 1", "```"]

    def runbook_down_text(self, svc: FoundService) -> str:
        depends = ", ".join(d.service for d in svc.depends) or "nothing gameday init found"
        dependents = ", ".join(s.name for s, _ in self.found.dependents(svc.name)) or "nothing gameday init found"
        serves = [f"- scenario: {self.scenario_name(svc.name, 'kill')}", f"- alert: {self.alert_down(svc)}"]
        serves += [f"- scenario: {self.scenario_name(svc.name, 'disk-fill')}"] if svc.writable_volumes else []
        serves += [f"- scenario: {self.scenario_name(name, 'revoked')}"
                   for name, (db, _, _) in self.credentials.items() if db is svc]
        if self.found.platform == "compose":
            status, start = f"{self.compose_cli()} ps {svc.name}", f"{self.compose_cli()} start {svc.name}"
        else:
            status, start = f"docker ps -a --filter name={svc.container}", f"docker start {svc.container}"
        verify = (["```sh {run timeout=60s}", "for i in $(seq 45); do",
                   f"  curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:{svc.ports[0]}/ && exit 0", "  sleep 1",
                   "done", "exit 1", "```"] if _endpoint(svc) else self._state_check(svc))
        lines = [f"# {self.stack}: {svc.name} is down", "",
                 (f"{svc.name} ({svc.kind}) is part of the stack {self.stack} ({self.found.source}). It depends on "
                 f"{depends}; {dependents} depend(s) on it. Restart policy: {svc.restart or 'no'}."), "",
                 "Written by gameday init as a starting point: add what your team knows.", "",
                 "## Serves", "", *serves, "", "## Severity", "",
                 f"SEV2 while {svc.name} is down and users notice; SEV3 if they do not.", "",
                 "## Steps", "",
                 f"1. See the state of {svc.name} and how it ended.", "", "   ```sh {run}", f"   {status}",
                 "   ```", "",
                 f"2. Start {svc.name} again. Starting a service that already runs changes nothing.", "",
                 "   ```sh {run}", f"   {start}", "   ```", "",
                 f"3. Wait until {svc.name} is running" + (" and healthy." if svc.healthcheck else "."), "",
                 *[f"   {line}" for line in self._state_check(svc)], "",
                 "## Verify", "", f"{svc.name} answers again:", "", *verify, "",
                 "## Rollback", "", "Starting a container changes no data: nothing to roll back.", "",
                 "## Escalate", "",
                 f"Call the owners of {svc.name} if it is not back within 15 minutes or keeps restarting.", ""]
        return "\n".join(lines)

    def runbook_slow_text(self, route: Route) -> str:
        dep = route.dependency
        toxiproxy = self.options.toxiproxy or TOXIPROXY_DEFAULT
        lines = [f"# {self.stack}: {route.service.name} cannot reach {dep.service} well", "",
                 (f"{route.service.name} reaches {dep.service} through {dep.env} (port {dep.port}); in the game day "
                 f"through the Toxiproxy proxy {route.proxy}."), "",
                 "## Serves", "", f"- scenario: {self.scenario_name(route.slug, 'latency')}",
                 f"- scenario: {self.scenario_name(route.slug, 'outage')}", "",
                 "## Severity", "", f"SEV3 while {route.service.name} is slow; SEV2 if its requests fail.", "",
                 "## Steps", "",
                 f"1. Check that {dep.service} itself is running.", "", *[f"   {line}" for line in
                                                                          self._state_check(self.found.service(dep.service)
                                                                                            or route.service)], "",
                 "2. Make sure the path through Toxiproxy is enabled and carries no toxic.", "",
                 "   ```sh {run}",
                 f"   curl -fsS -X POST -d '{{\"enabled\": true}}' {toxiproxy}/proxies/{route.proxy}",
                 "   ```", "",
                 "## Verify", "", f"{route.service.name} answers again:", "",
                 *(self._verify_lines(route.service)), "",
                 "## Rollback", "", "Enabling a proxy changes no data: nothing to roll back.", "",
                 "## Escalate", "",
                 f"Call the owners of {dep.service} if it stays slow for more than 15 minutes.", ""]
        return "\n".join(lines)

    def _verify_lines(self, svc: FoundService) -> list[str]:
        if _endpoint(svc):
            return ["```sh {run timeout=60s}", "for i in $(seq 45); do",
                    f"  curl -fsS --max-time 2 -o /dev/null http://127.0.0.1:{svc.ports[0]}/ && exit 0", "  sleep 1",
                    "done", "exit 1", "```"]
        return self._state_check(svc)

    # --- alert rules -------------------------------------------------------------------------

    def alert_rules(self) -> str:
        lines = [self.header().rstrip("\n"),
                 "# Suggested Prometheus alert rules. The expressions assume Prometheus scrapes each service as",
                 "# job=\"<service>\" (or probes it with the blackbox exporter): adjust them to your metrics, then",
                 "# `promtool check rules` and load them with rule_files.", "groups:",
                 f"  - name: {self.stack}", "    rules:"]
        for svc in self.found.services:
            lines += [f"      - alert: {self.alert_down(svc)}", f"        expr: up{{job={_q(svc.name)}}} == 0",
                      "        for: 30s", "        labels:", "          severity: page", f"          service: {svc.name}",
                      "        annotations:", f"          summary: {_q(f'{svc.name} of {self.stack} is down')}",
                      f"          runbook_url: runbooks/{self.runbook_down(svc)}"]
        return "\n".join(lines) + "\n"

    # --- all of it --------------------------------------------------------------------------------

    def files(self) -> dict[str, str]:
        out = {f"stacks/{self.stack}.yaml": self.stack_file(), f"alerts/{self.stack}.rules.yml": self.alert_rules()}
        for svc in self.found.services:
            out[f"scenarios/{self.scenario_name(svc.name, 'kill')}.yaml"] = self.kill_scenario(svc)
            out[f"runbooks/{self.runbook_down(svc)}"] = self.runbook_down_text(svc)
            if svc.writable_volumes:
                out[f"scenarios/{self.scenario_name(svc.name, 'disk-fill')}.yaml"] = self.disk_scenario(
                    svc, svc.writable_volumes[0])
        for route in self.routes:
            out.update(self.route_scenarios(route))
            out[f"runbooks/{self.runbook_slow(route)}"] = self.runbook_slow_text(route)
        for name, (svc, user, platform) in self.credentials.items():
            out[f"scenarios/{self.scenario_name(name, 'revoked')}.yaml"] = self.credentials_scenario(
                name, svc, user, platform)
        return out


def _wrap(text: str, width: int = 100) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current else lines


def starter_files(found: Found, options: InitOptions) -> dict[str, str]:
    """Every file init would write for ``found``: relative path -> text."""
    return Generator(found, options).files()
