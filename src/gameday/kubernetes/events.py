"""The cluster's own Events in the timeline: what Kubernetes said about the targets while the run broke them.

An observer (entry point ``kubernetes-events``), wanted when a fault acts on a Kubernetes target. From the
steady-state phase until after recovery it records the Events about each such target, its ReplicaSets and
its pods, each once with its own time, a flood counted rather than written (kubernetes/watch.py), and at
the end a summary; the report's cluster events section (kubernetes/report.py) shows them.

Every run asks every observer whether it is wanted, so this module imports no client: the watch (and
lightkube) is imported when a run starts one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gameday import events as ev
from gameday.contracts import Role, RunContext
from gameday.kubernetes.platform import KubernetesTarget
from gameday.scenario.model import Scenario
from gameday.scoring.expectations import Verdict
from gameday.timeline import Event, Timeline

if TYPE_CHECKING:
    from gameday.kubernetes.watch import EventWatch


def kubernetes_fault_targets(scenario: Scenario) -> dict[str, KubernetesTarget]:
    """The Kubernetes targets the scenario's faults act on, by name."""
    targets = scenario.stack.targets
    return {f.target: t for f in scenario.faults if isinstance(t := targets.get(f.target), KubernetesTarget)}


class ClusterEventsObserver:
    """Records the cluster's Events about the Kubernetes fault targets (entry point group gameday.observers)."""

    name = "kubernetes-events"
    role: Role = "watches"
    order = 20

    @staticmethod
    def wanted(scenario: Scenario) -> bool:
        return bool(kubernetes_fault_targets(scenario))

    def __init__(self) -> None:
        self._timeline: Timeline | None = None
        self._watch: EventWatch | None = None

    def start(self, ctx: RunContext) -> None:
        if ctx.simulated:
            return  # a tabletop breaks nothing: the cluster has nothing to say about it
        from gameday.kubernetes.objects import cluster_of
        from gameday.kubernetes.watch import LIMIT, PER_REASON, EventWatch, Scope

        scopes = [Scope(name, target) for name, target in sorted(kubernetes_fault_targets(ctx.scenario).items())]
        watch = EventWatch(ctx.timeline, scopes, cluster_of(ctx.scenario.stack), since=ctx.clock.wall())
        ctx.timeline.record(ev.KUBERNETES_EVENTS_WATCHING, actor="kubernetes",
                            targets=[{"target": s.name, "selector": s.target.selector} for s in scopes],
                            namespaces=list(watch.namespaces),
                            limit=LIMIT, per_reason=PER_REASON)
        self._timeline, self._watch = ctx.timeline, watch
        watch.start()

    def on_phase(self, phase: str) -> None:
        return None

    def stop(self) -> None:
        watch, timeline = self._watch, self._timeline
        if watch is None or timeline is None:
            return
        self._watch = None  # stop is called twice (after recovery, and in the run's finally)
        recorder = watch.stop()
        timeline.record(ev.KUBERNETES_EVENTS_SUMMARY, actor="kubernetes", recorded=recorder.recorded,
                        summarised=dict(recorder.summarised), repeated=dict(recorder.repeated),
                        errors=list(recorder.errors))

    def verdicts(self, scenario: Scenario, events: list[Event]) -> list[Verdict]:
        return []
