"""Watching a cluster's Events for the targets of a run (the cluster events recorder's machinery).

The Events of the targets' namespaces (``default`` for a Node: Events about a cluster-scoped object are recorded
there, by the node controller and the kubelet alike) are watched and those about a target
kept: the object itself, a Deployment's ReplicaSets, and the target's pods (by its selector while the pod
exists; once it is gone, by the name its controller gave it). Each Event is written once, as
``kubernetes.event`` with its own time; an Event that repeats (its count grows) is counted, not written
again. A flood is bounded: at most ``PER_REASON`` lines of one reason and ``LIMIT`` in all, the rest counted
by reason in the summary.

The watch runs on an asyncio loop in a thread of its own (lightkube's async client), so stopping cancels it
at once; a last listing at stop catches what the watch had not yet delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.resources.apps_v1 import DaemonSet, Deployment, ReplicaSet, StatefulSet
from lightkube.resources.core_v1 import Event, Node, Pod, Secret

from gameday import events as ev
from gameday.clock import iso
from gameday.errors import GamedayError
from gameday.kubernetes.objects import Cluster
from gameday.kubernetes.platform import KubernetesTarget
from gameday.kubernetes.status import WORKLOAD_KINDS, selector_matches
from gameday.timeline import Timeline

LIMIT = 200
"""At most this many ``kubernetes.event`` lines in a run; the rest are counted by reason."""
PER_REASON = 25
"""At most this many lines of one reason (a thousand pods deleted is a count, not a thousand lines)."""
MAX_MESSAGE = 300
RESOLVE_TIMEOUT_S = 20.0
"""How long ``start`` waits for the targets' objects and pods to be listed before the run goes on."""
STOP_TIMEOUT_S = 30.0

_RESOURCES: Mapping[str, Any] = {"Deployment": Deployment, "StatefulSet": StatefulSet, "DaemonSet": DaemonSet,
                                 "Pod": Pod, "Node": Node, "Secret": Secret}


@dataclass
class Scope:
    """One target and what is known to be its: objects by (kind, name), and pods by name (True: its own)."""

    name: str
    target: KubernetesTarget
    objects: set[tuple[str, str]] = field(default_factory=set)
    workload_uids: set[str] = field(default_factory=set)
    selectors: list[Any] = field(default_factory=list)
    """Selectors of the target's pods: its workloads' (LabelSelector) or its own match_labels (a dict)."""
    pod_names: list[re.Pattern[str]] = field(default_factory=list)
    """Names its controllers give pods: how a pod already gone is recognised."""
    pods: dict[str, bool] = field(default_factory=dict)
    replica_sets_seen: set[str] = field(default_factory=set)

    @property
    def namespace(self) -> str:
        return "" if self.target.kind == "Node" else self.target.namespace

    def selects(self, labels: Mapping[str, str]) -> bool:
        return any(s.items() <= labels.items() if isinstance(s, dict) else selector_matches(s, labels)
                   for s in self.selectors)

    async def resolve(self, client: AsyncClient) -> None:
        """What the target is now: its objects, a Deployment's ReplicaSets, its pods."""
        target, kind = self.target, self.target.kind
        api: Any = client  # objects read as Any: every field of lightkube's models is Optional
        resource = _RESOURCES[kind]
        namespace = {} if kind == "Node" else {"namespace": target.namespace}
        if target.name is not None:
            self.objects.add((kind, target.name))
            try:
                found = [await api.get(resource, target.name, **namespace)]
            except ApiError:
                found = []  # gone or never there: its own Events are still its
        else:
            found = [obj async for obj in api.list(resource, labels=dict(target.match_labels or {}), **namespace)]
            if kind == "Pod":
                self.selectors.append(dict(target.match_labels or {}))
        for obj in found:
            self.objects.add((kind, str(obj.metadata.name)))
            if kind in WORKLOAD_KINDS:
                self.workload_uids.add(str(obj.metadata.uid))
                self.selectors.append(obj.spec.selector)
                if kind == "StatefulSet":
                    self.pod_names.append(re.compile(re.escape(str(obj.metadata.name)) + r"-\d+"))
                elif kind == "DaemonSet":
                    self.pod_names.append(re.compile(re.escape(str(obj.metadata.name)) + r"-[a-z0-9]{5}"))
        if kind == "Deployment":
            await self._replica_sets(client)
        if self.selectors:
            async for pod in api.list(Pod, namespace=target.namespace):
                self.pods[str(pod.metadata.name)] = self.selects(pod.metadata.labels or {})

    async def _replica_sets(self, client: AsyncClient) -> None:
        api: Any = client
        async for rs in api.list(ReplicaSet, namespace=self.target.namespace):
            name = str(rs.metadata.name)
            self.replica_sets_seen.add(name)
            owner = next((ref.uid for ref in rs.metadata.ownerReferences or [] if ref.controller), None)
            if owner in self.workload_uids and ("ReplicaSet", name) not in self.objects:
                self.objects.add(("ReplicaSet", name))
                self.pod_names.append(re.compile(re.escape(name) + r"-[a-z0-9]{5}"))

    async def owns(self, client: AsyncClient, kind: str, name: str, namespace: str) -> bool:
        """Is this object the target's? Looks it up (once) when it is not known yet."""
        if kind != "Node" and namespace != self.namespace:
            return False
        if (kind, name) in self.objects:
            return True
        if kind == "ReplicaSet" and self.target.kind == "Deployment" and name not in self.replica_sets_seen:
            await self._replica_sets(client)  # a new one: a rollout
            return ("ReplicaSet", name) in self.objects
        if kind != "Pod" or not self.selectors:
            return False
        if name not in self.pods:
            try:
                pod: Any = await client.get(Pod, name, namespace=namespace)
                self.pods[name] = self.selects(pod.metadata.labels or {})
            except ApiError:  # gone already: recognised by the name its controller gave it
                self.pods[name] = any(p.fullmatch(name) for p in self.pod_names)
        return self.pods[name]


def event_time(event: Any) -> datetime | None:
    """The Event's own time: the latest of what it says, else when it was created."""
    series = event.series.lastObservedTime if event.series is not None else None
    when = series or event.lastTimestamp or event.eventTime or event.firstTimestamp or event.metadata.creationTimestamp
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def first_time(event: Any) -> datetime | None:
    """When the Event first happened."""
    when = event.eventTime or event.firstTimestamp or event.metadata.creationTimestamp
    if not isinstance(when, datetime):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def event_count(event: Any) -> int:
    if event.series is not None and event.series.count:
        return int(event.series.count)
    return int(event.count or 1)


class Recorder:
    """Decides, once per Event, whether it is about a target, and writes it or counts it. Used from one thread.

    What was there before the watch began is not this run's: those Events are noted with their count, and
    one counts again only when it happens again (its count grows) while the run watches. So is one that first
    happened before ``since`` and reached the API server late (a controller posts its Events in the background)."""

    def __init__(self, timeline: Timeline, scopes: list[Scope], *, since: datetime) -> None:
        self.timeline = timeline
        self.scopes = scopes
        self.since = since.replace(microsecond=0)  # most Events' timestamps are whole seconds, cut
        self.before: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.ignored: set[str] = set()
        self.recorded = 0
        self.by_reason: Counter[str] = Counter()
        self.summarised: Counter[str] = Counter()
        self.repeated: Counter[str] = Counter()
        self.errors: list[str] = []

    def existing(self, event: Any) -> None:
        """An Event that was there when the watch began."""
        self.before[str(event.metadata.uid)] = event_count(event)

    async def see(self, client: AsyncClient, event: Any) -> None:
        uid = str(event.metadata.uid)
        reason, count = str(event.reason or ""), event_count(event)
        if uid in self.ignored or (uid in self.before and count <= self.before[uid]):  # not this run's
            return
        first = first_time(event)
        if uid not in self.before and uid not in self.counts and first is not None and first < self.since:
            self.before[uid] = count  # it happened before the run; posted late
            return
        if uid in self.counts:
            if count > self.counts[uid]:
                self.repeated[reason] += count - self.counts[uid]
                self.counts[uid] = count
            return
        involved = event.involvedObject
        kind, name, namespace = str(involved.kind or ""), str(involved.name or ""), str(involved.namespace or "")
        scope = None
        for candidate in self.scopes:
            if await candidate.owns(client, kind, name, namespace):
                scope = candidate
                break
        if scope is None:
            self.ignored.add(uid)
            return
        self.counts[uid] = count
        if self.recorded >= LIMIT or self.by_reason[reason] >= PER_REASON:
            self.summarised[reason] += 1
            return
        self.recorded += 1
        self.by_reason[reason] += 1
        source = event.reportingComponent or (event.source.component if event.source is not None else None) or ""
        when = event_time(event)
        self.timeline.record(
            ev.KUBERNETES_EVENT, actor="kubernetes", target=scope.name, object=f"{kind}/{name}",
            namespace=namespace, reason=reason, type=str(event.type or ""),
            message=str(event.message or "")[:MAX_MESSAGE], count=count, source=str(source),
            event_at=iso(when) if when is not None else "")

    def error(self, text: str) -> None:
        if len(self.errors) < 5 and text not in self.errors:
            self.errors.append(text[:300])


class EventWatch:
    """The watch of one run: ``start`` lists the targets' objects and pods and begins watching; ``stop`` ends it
    and returns what the recorder counted."""

    def __init__(self, timeline: Timeline, scopes: list[Scope], cluster: Cluster, *, since: datetime) -> None:
        self.recorder = Recorder(timeline, scopes, since=since)
        self.cluster = cluster
        self.namespaces = namespaces_of(scopes)
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        resolved = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, name="kubernetes-events", daemon=True,
                                        args=(self._watch_all(resolved),))
        self._thread.start()
        # The targets' pods are listed before a fault can delete them, so their Events are known to be theirs.
        resolved.wait(RESOLVE_TIMEOUT_S)

    def stop(self) -> Recorder:
        """Stop watching (after a last listing); the recorder holds the counts. GamedayError if it will not stop."""
        assert self._thread is not None
        with contextlib.suppress(RuntimeError):  # the loop ended already (it failed): nothing to stop
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            raise GamedayError(f"the cluster events recorder did not stop within {STOP_TIMEOUT_S:.0f}s")
        self._loop.close()
        return self.recorder

    async def _watch_all(self, resolved: threading.Event) -> None:
        recorder = self.recorder
        client = AsyncClient(config=self.cluster.client.config, trust_env=False, timeout=httpx2.Timeout(10.0))
        try:
            for scope in recorder.scopes:
                try:
                    await scope.resolve(client)
                except (ApiError, httpx2.HTTPError) as exc:
                    recorder.error(f"listing {scope.target.selector}: {_why(exc)}")
            versions = {ns: await self._list(client, ns, existing=True) for ns in self.namespaces}
            resolved.set()
            watches = [asyncio.create_task(self._watch(client, ns, versions[ns])) for ns in self.namespaces]
            await self._stopping.wait()
            for task in watches:
                task.cancel()
            await asyncio.gather(*watches, return_exceptions=True)
            for ns in self.namespaces:  # what happened before stop that the watch had not yet delivered
                await self._list(client, ns)
        finally:
            resolved.set()
            await client.close()

    async def _list(self, client: AsyncClient, namespace: str, *, existing: bool = False) -> str | None:
        """Every Event of the namespace now, seen (or noted as there before the run); the list's version, from
        which a watch goes on, or None when the listing failed."""
        try:
            events = client.list(Event, namespace=namespace)
            async for event in events:
                if existing:
                    self.recorder.existing(event)
                else:
                    await self.recorder.see(client, event)
            return events.resourceVersion
        except (ApiError, httpx2.HTTPError) as exc:
            self.recorder.error(f"listing Events in {namespace}: {_why(exc)}")
            return None

    async def _watch(self, client: AsyncClient, namespace: str, version: str | None) -> None:
        delay = 0.5
        while True:
            if version is None:  # after an error: a new listing sees what the broken watch missed
                version = await self._list(client, namespace)
            if version is not None:
                try:
                    async for op, event in client.watch(Event, namespace=namespace, resource_version=version):
                        delay = 0.5
                        if op != "DELETED":
                            await self.recorder.see(client, event)
                except (ApiError, httpx2.HTTPError) as exc:
                    self.recorder.error(f"watching Events in {namespace}: {_why(exc)}")
                    version = None
            await asyncio.sleep(delay)  # cancelled at once when the watch stops
            delay = min(delay * 2, 5.0)


def namespaces_of(scopes: list[Scope]) -> list[str]:
    """Each target's namespace, once; a Node target's is ``default``, where Events about cluster-scoped objects
    are recorded (watching every namespace would need a cluster-wide read of Events for nothing more)."""
    return sorted({s.namespace or NODE_EVENTS_NAMESPACE for s in scopes})


NODE_EVENTS_NAMESPACE = "default"


def _why(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        return f"the API server refused ({exc.status.code}): {exc.status.message}"
    return f"{type(exc).__name__}: {exc}"
