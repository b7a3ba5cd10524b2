"""The scenario format, version 1, as typed immutable models.

A scenario says WHAT happens in a game day:

    version: 1
    name: checkout-db-down
    stack:        where things are: a stack file's name (``stack: demo`` is ``stacks/demo.yaml``, see
                  scenario.stackfile) or, for one-file use, the stack inline: Docker, Toxiproxy,
                  Prometheus/Alertmanager, named endpoints and targets (each validated by its platform's
                  model: ``{platform: docker, container: checkout}``)
    steady_state: probes that must be green before a fault and again after revert
    faults:       what breaks (kind, target, args), when (at) and for how long (duration)
    expect:       what must hold: probe behaviour during the fault, recovery time, alerts
    load:         a Locust load that runs while the fault is live
    injects:      timed or conditional messages the facilitator releases
    responses:    a scripted team, for CI and tests
    runbook:      the runbook that mitigates it (``follow_runbook: false``: named for people, not followed
                  by a scripted run)
    severity:     the severity the team is expected to declare

The models are the single definition of the format: the JSON Schema (``gameday schema``) is
generated from them. Fault arguments are checked by each fault driver's own model.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from gameday.errors import PluginError
from gameday.incident import Audience, Role
from gameday.loopback import is_loopback
from gameday.platforms.base import Target
from gameday.platforms.registry import installed_platforms
from gameday.plugins import installed_probe_kinds
from gameday.scenario.durations import DURATION_PATTERN, parse_duration
from gameday.scenario.matchers import LabelMatcher, parse_matcher

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN, "examples": ["90s", "5m", "1h30m", "250ms"]}),
]
"""A duration in seconds, written in the file as ``90s``, ``5m``, ``1h30m`` or ``250ms``."""

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]


def _more_than_zero(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("must be more than 0s")
    return seconds


PositiveDuration = Annotated[Duration, AfterValidator(_more_than_zero)]
"""A duration that must not be 0s: an interval, a timeout, how long a fault stays live."""


_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def is_host(text: str) -> bool:
    """An IP address or a DNS name: labels of 1-63 letters, digits, '-' or '_' (``a..b`` and ``a b`` are none)."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    name = text.removesuffix(".")
    return 0 < len(name) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in name.split("."))


def _host(text: str) -> str:
    if not is_host(text):
        raise ValueError(f"not a host name or IP address: {text[:100]!r}")
    return text


def _http_url(text: str) -> str:
    """An http(s) URL a client can reach: checked here so a typo is a validate error, not a failed run."""
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {text[:100]!r} ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// URL with a host: {text[:100]!r}")
    if not is_host(parts.hostname) or port == 0:
        raise ValueError(f"not a valid host in URL: {text[:100]!r}")
    return text


HttpUrl = Annotated[str, AfterValidator(_http_url), Field(max_length=2048, examples=["http://127.0.0.1:18080/health"])]


def _no_password(text: str) -> str:
    """A stack's URLs are written into files people share and runs copy: a secret is named by its environment
    variable (a ``*_env`` field), never written inline."""
    try:
        password = urlsplit(text).password
    except ValueError:
        return text  # the URL check says what is wrong with it
    if password is not None:
        raise ValueError("holds a password: give the URL by environment variable (a *_env field), never inline")
    return text


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$",
                               description="the name of an environment variable (its value is read at run time)")]
Severity = Literal["SEV1", "SEV2", "SEV3", "SEV4"]


class Model(BaseModel):
    # allow_inf_nan=False: `.inf` and `.nan` are floats to YAML, never a rate, ratio or size anyone means.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# --- stack --------------------------------------------------------------------------------------


def _platform_target(value: Any, info: ValidationInfo) -> Target:
    """Each target is checked by its platform's own model; ``context={"platforms": ...}`` picks the registry."""
    context = info.context if isinstance(info.context, dict) else {}
    registry = context.get("platforms") or installed_platforms()
    return registry.validate_target(value)


TargetSpec = Target
"""A target, as its platform's model (``DockerTarget``, ``ToxiproxyTarget``...): ``platform`` says which."""

PlatformTarget = Annotated[
    Target,
    BeforeValidator(_platform_target),
    WithJsonSchema({"type": "object", "description": "a target: {platform: <name>, ...its fields}, or version 1's "
                    "short form naming one of container, labels, proxy, path, postgres_role, redis_user"}),
]


class Endpoint(Model):
    # A password here is refused in files (the loader's secret check); a stack built in Python may carry one,
    # and every reader redacts it.
    url: HttpUrl


def _loopback_url(text: str) -> str:
    if urlsplit(text).scheme != "http":
        raise ValueError(f"the harness's receiver speaks plain http (on loopback), not {text[:100]!r}")
    if not is_loopback(urlsplit(text).hostname or ""):
        raise ValueError(f"the harness's receiver listens on loopback only (127.0.0.1, ::1, localhost), not {text[:100]!r}")
    return text


class AlertmanagerEndpoint(Endpoint):
    """The stack's Alertmanager: its API (``url``), where it posts gameday's webhook, and the name it posts under."""

    webhook_url: Annotated[HttpUrl, AfterValidator(_loopback_url)] | None = Field(
        None, description="the url of gameday's receiver in this Alertmanager's config (its webhook_configs url): a run "
                          "listens there; on loopback. Default http://127.0.0.1:19099/alerts. Two stacks on one "
                          "machine need one each")
    external_url: HttpUrl | None = Field(
        None, description="this Alertmanager's external URL (--web.external-url; by default http://<host name>:<port>), "
                          "which it sends as externalURL in every webhook: given, a run refuses webhooks from any other "
                          "Alertmanager. `gameday doctor` shows the value")


class NamedEndpoint(Model):
    """A URL of the stack that scenarios name (``{endpoint: checkout, path: /health}``) instead of writing it."""

    url: HttpUrl | None = Field(None, description="the base URL, e.g. http://127.0.0.1:18080")
    url_env: EnvName | None = Field(None, description="or: the environment variable holding it (an admin URL "
                                                      "with a password); probes cannot use these")
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> NamedEndpoint:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("an endpoint has exactly one of url, url_env")
        return self


class DockerEndpoint(Model):
    base_url: str | None = Field(None, description="e.g. unix:///var/run/docker.sock; default: DOCKER_HOST or the local socket")


class StackSpec(Model):
    """Where a staging stack is and what in it may be faulted: a stack file's contents, or a scenario's
    inline ``stack:`` (which has no allowlist: its targets need their platform's own opt-in)."""

    name: str = "demo"
    environment: Literal["development", "staging", "production"] = Field(
        "staging", description="production refuses every fault unless the run passes --allow-production"
    )
    allow_label: str = Field(
        "gameday.allowed=true", description="a container is a fault target only if it carries this label"
    )
    docker: DockerEndpoint = DockerEndpoint()
    toxiproxy: Endpoint | None = None
    prometheus: Endpoint | None = None
    alertmanager: AlertmanagerEndpoint | None = None
    endpoints: dict[Name, NamedEndpoint] = Field(
        default_factory=dict, description="named URLs that probes and load name ({endpoint: checkout, path: /health})")
    targets: dict[Name, PlatformTarget] = Field(default_factory=dict)
    platforms: dict[Name, dict[str, Any]] = Field(
        default_factory=dict, description="settings per platform ({compose: {project: shop}}), as each platform reads them")
    allow: dict[Name, list[Annotated[str, Field(min_length=1, max_length=1000)]]] | None = Field(
        None, description="stack files only: what may be faulted, per platform (docker: container names, toxiproxy: "
                          "proxies, postgres: roles, redis: users, host: paths); names or globs")
    _source: str | None = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The stack file this came from; None for an inline stack."""
        return self._source

    def from_file(self, path: str) -> StackSpec:
        """This stack, marked as read from the stack file at ``path``."""
        self._source = path
        return self

    def platform_settings(self, platform: str) -> dict[str, Any]:
        """The stack's settings for a platform, as that platform reads them: its own section (``docker:`` for
        Docker) and ``platforms.<name>``, the latter winning; {} if none."""
        section = getattr(self, platform, None) if platform in type(self).model_fields else None
        settings = section.model_dump() if isinstance(section, BaseModel) else {}
        return {**settings, **self.platforms.get(platform, {})}

    def endpoint_url(self, name: str, path: str = "") -> str:
        """``endpoints.<name>.url`` joined with ``path``; ValueError naming the known ones when there is none."""
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            known = ", ".join(sorted(self.endpoints)) or "none defined under stack endpoints"
            raise ValueError(f"unknown endpoint '{name}' (known: {known})")
        if endpoint.url is None:
            raise ValueError(f"endpoint '{name}' is given by environment variable ({endpoint.url_env}); "
                             "a probe needs a url it can show")
        return endpoint.url.rstrip("/") + ("/" + path.lstrip("/") if path else "")


# --- probes ----------------------------------------------------------------------------------------


HttpStatus = Annotated[int, Field(ge=100, le=599)]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


StatusList = Annotated[
    list[HttpStatus],
    BeforeValidator(_as_list),  # `expect_status: 200` or `[200, 204]`: one error path either way
    Field(min_length=1),  # `[]` would make every answer a failure
    WithJsonSchema({"anyOf": [{"type": "integer", "minimum": 100, "maximum": 599},
                              {"type": "array", "minItems": 1,
                               "items": {"type": "integer", "minimum": 100, "maximum": 599}}]}),
]


def _endpoint_reference(value: Any, info: ValidationInfo) -> Any:
    """``{endpoint: checkout, path: /health}`` -> ``url`` from the stack's endpoints (``context["stack"]``,
    which the loader gives); the reference is kept beside the URL it became."""
    if not isinstance(value, dict) or "endpoint" not in value or value.get("url") is not None:
        return value
    context = info.context if isinstance(info.context, dict) else {}
    stack = context.get("stack")
    name, path = value.get("endpoint"), value.get("path", "")
    if not isinstance(name, str) or not isinstance(path, str):
        return value  # the field types say what is wrong
    if context.get("stack_failed"):
        return {**value, "url": "http://stack.invalid/"}  # the stack's own problems are reported instead
    if not isinstance(stack, StackSpec):
        # A ValueError, not a TypeError: pydantic turns only the former into a located error.
        raise ValueError("an endpoint is resolved against the scenario's stack; load the scenario with "  # noqa: TRY004
                         "gameday.scenario.load_scenario")
    return {**value, "url": stack.endpoint_url(name, path)}


def _url_or_endpoint(schema: dict[str, Any]) -> None:
    # The loader fills url from endpoint before the model sees it; editors must accept either.
    schema["required"] = [r for r in schema.get("required", []) if r != "url"]
    schema["anyOf"] = [{"required": ["url"]}, {"required": ["endpoint"]}]


class HttpCheck(Model):
    model_config = ConfigDict(json_schema_extra=_url_or_endpoint)

    url: HttpUrl
    endpoint: Name | None = Field(None, description="instead of url: a named endpoint of the stack")
    path: str = Field("", max_length=2048, description="with endpoint: the path after its URL, e.g. /health")
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: StatusList = Field(default_factory=lambda: [200])
    max_latency: PositiveDuration = 2.0
    timeout: PositiveDuration = 5.0

    _from_endpoint = model_validator(mode="before")(_endpoint_reference)

    def status_ok(self, status: int) -> bool:
        return status in self.expect_status


class TcpCheck(Model):
    host: Annotated[str, AfterValidator(_host)] = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    timeout: PositiveDuration = 2.0


class _KindKey:
    """A probe's key that is not one of its fields, with what is under it: a probe kind from a plugin."""

    def __init__(self, key: str, value: Any) -> None:
        self.key, self.value = key, value

    def __repr__(self) -> str:  # what pydantic shows as the input of an error
        return repr(self.value)


def _plugin_check(value: Any, info: ValidationInfo) -> Any:
    """What is under a probe kind's key, validated by that kind's own model (errors located under the key);
    a key no installed kind has is an unknown key, as on any other model."""
    if not isinstance(value, _KindKey):
        return value
    kinds = installed_probe_kinds()
    if value.key not in kinds:
        raise ValueError(f"unknown key: a probe has a name, an interval and one of {probe_kinds_text()}")
    try:
        kind = kinds.load(value.key)
    except PluginError as exc:
        raise ValueError(str(exc)) from None
    return kind.check_model.model_validate(value.value, context=info.context)


PluginCheck = Annotated[Any, BeforeValidator(_plugin_check), WithJsonSchema({"type": "object"})]


def probe_kinds_text() -> str:
    """``http, tcp or kubernetes``: the keys that say what a probe checks, built in and installed."""
    names = ["http", "tcp", *installed_probe_kinds().names()]
    return ", ".join(names[:-1]) + " or " + names[-1]


class ProbeSpec(Model):
    # Keys beyond these fields are probe kinds from the gameday.probes entry points ({kubernetes: {...}}),
    # each validated by its kind's model; a key no kind has is refused as an unknown key.
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, PluginCheck] = Field(init=False)

    name: Name
    http: HttpCheck | None = None
    tcp: TcpCheck | None = None
    interval: PositiveDuration = 1.0

    @model_validator(mode="before")
    @classmethod
    def _mark_kinds(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v if k in cls.model_fields else _KindKey(str(k), v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_check(self) -> ProbeSpec:
        given = [k for k in ("http", "tcp") if getattr(self, k) is not None] + list(self.model_extra or {})
        if len(given) != 1:
            raise ValueError(f"a probe has exactly one of {probe_kinds_text()}"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self

    @property
    def plugin_check(self) -> tuple[str, BaseModel] | None:
        """The probe kind from a plugin and its validated check, or None for an http or tcp probe."""
        return next(iter((self.model_extra or {}).items()), None)


class SteadyState(Model):
    probes: list[ProbeSpec] = Field(default_factory=list)
    healthy_checks: int = Field(1, ge=1, le=100, description="consecutive green rounds needed before injecting")
    timeout: Duration = Field(30.0, description="how long to wait for steady state before giving up")


# --- faults ---------------------------------------------------------------------------------------


class FaultSpec(Model):
    name: Name | None = None
    kind: str = Field(description="fault kind, e.g. container_kill, latency, disk_fill")
    target: Name
    args: dict[str, Any] = Field(default_factory=dict, description="kind-specific arguments")
    at: Duration = Field(0.0, description="when, after the fault phase starts")
    duration: PositiveDuration = Field(description="how long the fault stays live before it is reverted")

    @property
    def label(self) -> str:
        return self.name or f"{self.kind}@{self.target}"


class SafetySpec(Model):
    ttl_margin: Duration = Field(60.0, description="a fault's time-to-live is its end (at + duration) plus this")
    max_fault_duration: PositiveDuration = Field(
        3600.0, description="hard maximum of a fault's at + duration; raise it explicitly for longer faults"
    )
    heartbeat_timeout: Duration = Field(
        10.0, description="the watchdog reverts everything when the harness's heartbeat is older than this (>= 3s)"
    )

    @model_validator(mode="after")
    def _heartbeat_outlives_beats(self) -> SafetySpec:
        # The harness writes its heartbeat every second; less than 3 s would have the watchdog revert a healthy run.
        if self.heartbeat_timeout < 3.0:
            raise ValueError("heartbeat_timeout must be at least 3s: the heartbeat is written every second")
        return self


class GuardSpec(Model):
    """An abort condition: when it trips, injection stops, every fault is reverted at once, exit code 4."""

    name: Name
    probe: ProbeSpec | None = Field(None, description="a probe outside the blast radius; trips when it stays red")
    load_error_rate_above: float | None = Field(None, gt=0.0, le=1.0, description="trips on load error rate above this")
    alert: str | None = Field(None, min_length=1, description="trips when an alert with this alertname fires")
    sustained: Duration = Field(0.0, description="how long the condition must hold before it trips")

    @model_validator(mode="after")
    def _one_condition(self) -> GuardSpec:
        if sum(x is not None for x in (self.probe, self.load_error_rate_above, self.alert)) != 1:
            raise ValueError("a guard has exactly one of probe, load_error_rate_above, alert")
        return self


# --- expectations -------------------------------------------------------------------------------


class ProbeExpectation(Model):
    probe: Name
    during_fault: Literal["up", "down", "any"] = Field(
        "any", description="up: stays green; down: the probe must see the outage; any: not judged"
    )
    max_failure_ratio: float | None = Field(None, ge=0.0, le=1.0, description="with up: failures tolerated")


def _valid_matcher(text: str) -> str:
    parse_matcher(text)
    return text


Matcher = Annotated[
    str,
    AfterValidator(_valid_matcher),
    Field(description='an Alertmanager-style matcher: name="v", name!="v", name=~"regex", name!~"regex"',
          examples=['severity=~"critical|page"', 'team!="db"']),
]


# The one type of an expected alert: the scenario's expect.alerts, their copy in the timeline
# (alerts.watching) and a run folder's scenario.yaml all become one, and scoring matches alerts against it.
# (No docstring: pydantic would put it into the JSON Schema editors show.)
class AlertExpectation(Model):
    name: str = Field(min_length=1, description="alertname")
    labels: dict[str, str] = Field(default_factory=dict, description="labels that must be equal")
    matchers: list[Matcher] = Field(default_factory=list, description="more label matchers, all must match")
    within: Duration = Field(300.0, description="deadline after the fault is effective")

    @classmethod
    def of(cls, name: str, *, labels: Mapping[str, str] | None = None, within: float = 300.0,
           matchers: Iterable[str] = ()) -> AlertExpectation:
        """From values already in Python form (the timeline's copy, a run folder's scenario, a test).

        A matcher that does not parse is dropped, not a crash of the report: ``gameday validate``
        refused it before any run.
        """
        kept = [str(m) for m in matchers if _parses(str(m))]
        return cls.model_construct(name=name, labels=dict(labels or {}), matchers=kept, within=float(within))

    @property
    def label_matchers(self) -> tuple[LabelMatcher, ...]:
        return tuple(_cached_matcher(m) for m in self.matchers)

    @property
    def title(self) -> str:
        """``Name{label="v",severity=~"page"}``: how reports and verdicts name it."""
        parts = [f'{k}="{v}"' for k, v in sorted(self.labels.items())] + [str(m) for m in self.label_matchers]
        return f"{self.name}{{{','.join(parts)}}}" if parts else self.name

    def matches(self, alertname: str, labels: Mapping[str, Any]) -> bool:
        """Same alertname, every given label equal and every matcher true (a subset match, as Alertmanager's)."""
        return (alertname == self.name and all(str(labels.get(k)) == v for k, v in self.labels.items())
                and all(m.matches(labels) for m in self.label_matchers))


_cached_matcher = functools.lru_cache(maxsize=512)(parse_matcher)


def _parses(text: str) -> bool:
    try:
        _cached_matcher(text)
    except ValueError:
        return False
    return True


class OomKillExpectation(Model):
    target: Name = Field(description="a container target of the stack (docker, compose)")
    during_fault: Literal["killed", "none"] = Field(
        "killed", description="killed: the kernel's OOM killer ends a process of the container after the fault is "
        "injected (its runtime's OOMKilled, or the oom_kill count of its memory cgroup); none: it must not")


class Expectations(Model):
    recovers_within: Duration = Field(60.0, description="after revert, all probes green again within")
    probes: list[ProbeExpectation] = Field(default_factory=list)
    alerts: list[AlertExpectation] = Field(default_factory=list)
    alerts_not_firing: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list,
                                                                         description="alertnames that must not fire")
    oom_kills: list[OomKillExpectation] = Field(
        default_factory=list, description="containers the kernel's OOM killer must (or must not) hit, e.g. under "
        "memory_pressure with oom_kill: expected")


# --- load, people ------------------------------------------------------------------------------


def _load_host(schema: dict[str, Any]) -> None:
    schema["required"] = [r for r in schema.get("required", []) if r != "host"]
    schema["anyOf"] = [{"required": ["host"]}, {"required": ["endpoint"]}]


def _load_endpoint(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, dict) and "endpoint" in value and value.get("host") is None:
        resolved = _endpoint_reference({"endpoint": value["endpoint"], "path": value.get("path", "")}, info)
        return {**value, "host": resolved.get("url")} if isinstance(resolved, dict) else value
    return value


class LoadSpec(Model):
    model_config = ConfigDict(json_schema_extra=_load_host)

    locustfile: str
    host: HttpUrl
    endpoint: Name | None = Field(None, description="instead of host: a named endpoint of the stack")
    path: str = Field("", max_length=2048, description="with endpoint: a path after its URL")
    _from_endpoint = model_validator(mode="before")(_load_endpoint)
    users: int = Field(10, ge=1, le=10_000)
    spawn_rate: float = Field(10.0, gt=0)
    warmup: Duration = Field(5.0, description="load before the fault, for the baseline")


class InjectCondition(Model):
    no_alert_by: Duration | None = None
    no_acknowledge_by: Duration | None = None
    no_severity_by: Duration | None = None


class InjectSpec(Model):
    at: Duration | None = Field(None, description="release at T+at (from the fault)")
    unless: InjectCondition | None = Field(None, description="release only if this has not happened")
    kind: Literal["message", "customer_report", "log", "graph", "noise", "executive"] = "message"
    source: str = Field("facilitator", description="who it comes from, e.g. Customer Success")
    text: str


ResponseAction = Literal[
    "acknowledge",
    "declare",
    "assign",
    "hypothesis",
    "runbook_step",
    "status_update",
    "mitigated",
    "all_clear",
    "review",
    "note",
]


def _real_day(text: Any) -> str:
    """``YYYY-MM-DD`` of a real calendar day (``2026-02-30`` is refused); YAML reads an unquoted one as a date."""
    if isinstance(text, date):
        return text.isoformat()
    if isinstance(text, str) and len(text) == 10:
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise ValueError(f"not a date: {text!r} (write YYYY-MM-DD)")


class ActionItem(Model):
    text: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    due: Annotated[str, BeforeValidator(_real_day), Field(description="YYYY-MM-DD", examples=["2026-12-01"])]


class ResponseStep(Model):
    at: Duration = Field(description="T+at from the fault")
    actor: str = "responder"
    action: ResponseAction
    severity: Severity | None = None
    role: Role | None = None
    step: int | None = Field(None, ge=1, description="runbook_step: the step's number, from 1")
    outcome: Literal["done", "failed", "skipped"] | None = None
    audience: Audience | None = None
    text: str = Field("", description="what is said; for review, the root cause")
    went_well: list[str] = Field(default_factory=list, description="review only")
    went_poorly: list[str] = Field(default_factory=list, description="review only")
    got_lucky: list[str] = Field(default_factory=list, description="review only")
    action_items: list[ActionItem] = Field(default_factory=list, description="review only")


class SeverityOverride(Model):
    """A team's own targets for one level; what is not given keeps the incident-process default."""

    name: str | None = Field(None, min_length=1, max_length=20, description="what the team calls it, e.g. P1")
    meaning: str | None = Field(None, description='e.g. "critical: checkout down for most customers"')
    respond_within: Duration | None = Field(None, description="declare target, from detection")
    acknowledge_within: Duration | None = Field(None, description="acknowledge target, from detection")
    update_every: Duration | None = Field(None, description="the longest silence allowed between status updates")
    update_every_min: Duration | None = Field(None, description="when the next update is prompted (default: update_every)")
    resolve_within: Duration | None = Field(None, description="resolve target, from detection")
    escalate_unmitigated_after: Duration | None = Field(None, description="escalate if not mitigated this long after declaring")
    postmortem_within: Duration | None = None

    @model_validator(mode="after")
    def _cadence_range(self) -> SeverityOverride:
        if self.update_every is not None and self.update_every_min is not None and self.update_every_min > self.update_every:
            raise ValueError("update_every_min is longer than update_every")
        return self

    def table_changes(self) -> dict[str, Any]:
        """The given fields as ``scoring.severity.SeverityLevel`` fields (durations end in ``_s``)."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump(exclude_none=True).items():
            out[key if key in ("name", "meaning") else f"{key}_s"] = value
        return out


def _version_one(value: Any) -> Any:
    """A whole number (then Literal[1] says which): YAML's ``true`` and ``1.0`` equal 1 in Python."""
    if type(value) is not int:
        raise ValueError(f"must be the number 1, got {value!r}"[:200])
    return value


def _stack_reference(value: Any, info: ValidationInfo) -> Any:
    """``stack: demo`` or ``stack: {file: ...}`` names a stack file; the loader reads it and hands the result in
    ``context["stack"]`` (an inline stack is validated here as it is)."""
    if isinstance(value, str) or (isinstance(value, dict) and "file" in value):
        stack = info.context.get("stack") if isinstance(info.context, dict) else None
        if not isinstance(stack, StackSpec):
            raise ValueError("a stack file is read by the scenario loader (gameday.scenario.load_scenario)")
        return stack
    return value


class Scenario(Model):
    version: Annotated[Literal[1], BeforeValidator(_version_one)]
    name: Name
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    stack: Annotated[StackSpec, BeforeValidator(_stack_reference)] = Field(
        StackSpec(), description="a stack file's name (stacks/<name>.yaml), {file: path}, or the stack inline")
    steady_state: SteadyState = SteadyState()
    faults: list[FaultSpec] = Field(min_length=1)
    expect: Expectations = Expectations()
    safety: SafetySpec = SafetySpec()
    guards: list[GuardSpec] = Field(default_factory=list)
    load: LoadSpec | None = None
    injects: list[InjectSpec] = Field(default_factory=list)
    responses: list[ResponseStep] = Field(default_factory=list)
    runbook: str | None = None
    follow_runbook: bool = Field(
        True, description="a scripted run (gameday run, gameday ci) follows the runbook once the page comes; "
        "false: the runbook is named for the people of a drill (facilitate, room, coverage) and the harness's "
        "revert alone restores service, as it measures")
    severity: Severity | None = None
    severities: dict[Severity, SeverityOverride] = Field(
        default_factory=dict, description="the team's severity names and targets, where they differ from the default table"
    )
    names_in_report: bool = Field(
        False, description="show people's names in the report's narrative; by default roles only (blameless)"
    )

    def severity_changes(self) -> dict[str, dict[str, Any]]:
        """``severities:`` as changes to the default table, per level id (what ``run.started`` records)."""
        return {level: o.table_changes() for level, o in self.severities.items() if o.table_changes()}

    @property
    def fault_phase_length(self) -> float:
        """From the first fault's start to the last fault's end."""
        return max(f.at + f.duration for f in self.faults)

    def probe(self, name: str) -> ProbeSpec | None:
        return next((p for p in self.steady_state.probes if p.name == name), None)
