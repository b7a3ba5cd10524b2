"""Charts over time as inline SVG, drawn in Python (no JavaScript, no plotting library, no network).

Every chart shares the run's time axis (T+ seconds from run.started), shades the fault window and
draws the phase changes as dashed lines, so the charts of one report line up under each other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from gameday import events as ev
from gameday.scenario.durations import format_duration
from gameday.scoring.expectations import fault_window
from gameday.timeline import Event

WIDTH, HEIGHT = 880, 220
LEFT, RIGHT, TOP, BOTTOM = 150, 18, 34, 38
PALETTE = ("#2563eb", "#7c3aed", "#0d9488", "#b45309", "#db2777", "#4b5563")
RED = "#dc2626"

MILESTONES = (
    (ev.INCIDENT_DETECTED, "detected"), (ev.INCIDENT_ACKNOWLEDGED, "ack"), (ev.SEVERITY_DECLARED, "declared"),
    (ev.INCIDENT_MITIGATED, "mitigated"), (ev.INCIDENT_RESOLVED, "resolved"),
)


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]
    color: str
    dashed: bool = False


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: str
    caption: str


@dataclass(frozen=True)
class Axis:
    """Shared time axis and what every chart draws on it."""

    start: float
    end: float
    window: tuple[float, float] | None
    phases: list[tuple[float, str]] = field(default_factory=list)

    def x(self, t: float) -> float:
        span = (self.end - self.start) or 1.0
        return LEFT + (t - self.start) / span * (WIDTH - LEFT - RIGHT)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (1, 2, 5 x 10^n steps)."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 0.001:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _frame(axis: Axis, title: str, height: int) -> list[str]:
    parts = [
        (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
         f'height="{height}" role="img" aria-label="{escape(title)}" class="chart">'),
        f'<title>{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="18" font-size="13" font-weight="600" fill="#111827">{escape(title)}</text>',
    ]
    bottom = height - BOTTOM
    if axis.window is not None:
        x0, x1 = axis.x(axis.window[0]), axis.x(axis.window[1])
        parts.append(f'<rect class="fault-window" x="{x0:.1f}" y="{TOP}" width="{max(1.0, x1 - x0):.1f}" '
                     f'height="{bottom - TOP}" fill="{RED}" fill-opacity="0.09"/>')
        parts.append(f'<text x="{x0 + 4:.1f}" y="{TOP + 12}" font-size="10" fill="{RED}">fault</text>')
    for t in nice_ticks(axis.start, axis.end, 8):
        if axis.start <= t <= axis.end:
            x = axis.x(t)
            parts.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#6b7280"/>')
            parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" font-size="10" text-anchor="middle" '
                         f'fill="#374151">T+{format_duration(max(0.0, t))}</text>')
    last_label_end = -1e9
    for t, name in axis.phases:
        x = axis.x(t)
        parts.append(f'<line class="phase" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#6b7280" '
                     f'stroke-dasharray="3,3" stroke-width="1"/>')
        label = name.replace("_", " ")
        width = 5.2 * len(label)
        # Labels that would run into the previous one, or off the right edge, go on the other side.
        right_side = x + 3 + width <= WIDTH - 2 and x + 3 >= last_label_end
        lx = x + 3 if right_side else x - 3
        anchor = "start" if right_side else "end"
        if not right_side and lx - width < last_label_end:
            continue  # no room at all: the dashed line alone marks it
        parts.append(f'<text x="{lx:.1f}" y="{TOP - 4}" font-size="9" fill="#6b7280" '
                     f'text-anchor="{anchor}">{escape(label)}</text>')
        last_label_end = lx + (width if right_side else 0) + 4
    parts.append(f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#9ca3af"/>')
    return parts


def line_chart(
    chart_id: str,
    title: str,
    axis: Axis,
    series: Sequence[Series],
    *,
    unit: str,
    bad: Sequence[tuple[float, float]] = (),
    y_format: Callable[[float], str] = lambda v: f"{v:g}",
    caption: str = "",
) -> Chart:
    """Lines over time; ``bad`` points (e.g. failed probe checks) are marked with red crosses."""
    height = HEIGHT
    bottom = height - BOTTOM
    values = [y for s in series for _, y in s.points] + [y for _, y in bad]
    ticks = nice_ticks(0.0, max(values, default=1.0) or 1.0, 4)
    top_value = ticks[-1]

    def y(v: float) -> float:
        return bottom - (v / top_value) * (bottom - TOP) if top_value else bottom

    parts = _frame(axis, title, height)
    for t in ticks:
        parts.append(f'<line x1="{LEFT}" y1="{y(t):.1f}" x2="{WIDTH - RIGHT}" y2="{y(t):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y(t) + 3:.1f}" font-size="10" text-anchor="end" '
                     f'fill="#374151">{escape(y_format(t))}</text>')
    ux = LEFT - 48
    parts.append(f'<text x="{ux}" y="{(TOP + bottom) / 2:.0f}" font-size="10" fill="#374151" '
                 f'transform="rotate(-90 {ux} {(TOP + bottom) / 2:.0f})" text-anchor="middle">{escape(unit)}</text>')
    for s in series:
        if not s.points:
            continue
        path = " ".join(f"{axis.x(px):.1f},{y(py):.1f}" for px, py in thin(s.points, axis))
        dash = ' stroke-dasharray="5,3"' if s.dashed else ""
        parts.append(f'<polyline class="series" points="{path}" fill="none" stroke="{s.color}" '
                     f'stroke-width="1.8"{dash}/>')
    drawn: set[tuple[int, int]] = set()
    for px, py in bad:
        cx, cy = axis.x(px), y(py)
        if (round(cx / 3), round(cy / 3)) in drawn:
            continue  # a cross on top of another adds bytes, not information
        drawn.add((round(cx / 3), round(cy / 3)))
        parts.append(f'<path class="bad" d="M{cx - 3:.1f},{cy - 3:.1f} L{cx + 3:.1f},{cy + 3:.1f} '
                     f'M{cx - 3:.1f},{cy + 3:.1f} L{cx + 3:.1f},{cy - 3:.1f}" stroke="{RED}" stroke-width="1.6"/>')
    parts.extend(_legend([(s.name, s.color) for s in series] + ([("failed check", RED)] if bad else []), height))
    parts.append("</svg>")
    return Chart(chart_id, title, "".join(parts), caption)


def lanes_chart(
    chart_id: str,
    title: str,
    axis: Axis,
    lanes: Sequence[tuple[str, str, list[tuple[float, float]]]],
    *,
    milestones: Sequence[tuple[float, str]] = (),
    caption: str = "",
) -> Chart:
    """One lane per row label with bars for the spans it was active (alerts firing, probes red)."""
    rows = list(lanes) + ([("response", "#111827", [])] if milestones else [])
    lane_h = 22
    height = TOP + BOTTOM + lane_h * max(1, len(rows)) + (30 if milestones else 6)
    bottom = height - BOTTOM
    parts = _frame(axis, title, height)
    for i, (label, color, spans) in enumerate(rows):
        top = TOP + 4 + i * lane_h
        parts.append(f'<text x="{LEFT - 6}" y="{top + 13}" font-size="10" text-anchor="end" '
                     f'fill="#374151">{escape(_short(label))}</text>')
        parts.append(f'<line x1="{LEFT}" y1="{top + lane_h - 2}" x2="{WIDTH - RIGHT}" y2="{top + lane_h - 2}" '
                     f'stroke="#f3f4f6"/>')
        for a, b in spans:
            x0, x1 = axis.x(a), axis.x(b)
            parts.append(f'<rect class="lane-bar" x="{x0:.1f}" y="{top + 3}" width="{max(2.0, x1 - x0):.1f}" '
                         f'height="{lane_h - 8}" rx="2" fill="{color}" fill-opacity="0.8"/>')
    if milestones:
        top = TOP + 4 + (len(rows) - 1) * lane_h
        for n, (t, label) in enumerate(milestones):
            x = axis.x(t)
            parts.append(f'<circle class="milestone" cx="{x:.1f}" cy="{top + 8}" r="3.5" fill="#111827"/>')
            # Staggered over three rows so close milestones (detected, ack, declared) stay readable.
            parts.append(f'<line x1="{x:.1f}" y1="{top + 8}" x2="{x:.1f}" y2="{top + 14 + (n % 3) * 10}" '
                         f'stroke="#9ca3af"/>')
            parts.append(f'<text x="{x + 3:.1f}" y="{top + 20 + (n % 3) * 10}" font-size="9" '
                         f'fill="#111827">{escape(label)}</text>')
    assert bottom >= TOP
    parts.append("</svg>")
    return Chart(chart_id, title, "".join(parts), caption)


def thin(points: Sequence[tuple[float, float]], axis: Axis) -> list[tuple[float, float]]:
    """At most the lowest and highest point per pixel column, in time order: spikes survive, bytes do not."""
    if len(points) <= 2 * (WIDTH - LEFT - RIGHT):
        return list(points)
    columns: dict[int, list[tuple[float, float]]] = {}
    for point in points:
        columns.setdefault(int(axis.x(point[0])), []).append(point)
    out: list[tuple[float, float]] = []
    for column in sorted(columns):
        group = columns[column]
        low, high = min(group, key=lambda p: p[1]), max(group, key=lambda p: p[1])
        out.extend(sorted({low, high}, key=lambda p: p[0]))
    return out


def _legend(items: list[tuple[str, str]], height: int) -> list[str]:
    parts, x = [], WIDTH - RIGHT
    for name, color in reversed(items):
        text = _short(name)
        width = 18 + 6 * len(text)
        x -= width
        parts.append(f'<rect x="{x:.0f}" y="9" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{x + 14:.0f}" y="18" font-size="10" fill="#374151">{escape(text)}</text>')
    return parts


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the report's charts, from the timeline ---------------------------------------------------------


def axis_for(events: list[Event]) -> Axis:
    window = fault_window(events)
    effective = next((e.offset for e in events if e.kind == ev.FAULT_EFFECTIVE), None)
    phases = [(e.offset, str(e.details.get("phase"))) for e in events
              if e.kind == ev.PHASE_CHANGED and e.details.get("phase") in ("steady_state", "fault", "recovery",
                                                                          "evaluation")]
    start = events[0].offset if events else 0.0
    end = max((e.offset for e in events), default=1.0)
    shade = None
    if window is not None:
        shade = (effective if effective is not None and effective <= window.end else window.start, window.end)
    return Axis(start=start, end=max(end, start + 1.0), window=shade, phases=phases)


def build_charts(events: list[Event]) -> list[Chart]:
    """The charts a run's data allows: probe latency, load error rate and p95, alerts and probes over time."""
    if not events:
        return []
    axis = axis_for(events)
    charts: list[Chart] = []
    checks = [e for e in events if e.kind == ev.PROBE_CHECKED]
    probes = sorted({str(e.details.get("probe")) for e in checks})
    if checks:
        series = [Series(name, [(e.offset, float(e.details.get("latency_ms") or 0.0)) for e in checks
                                if str(e.details.get("probe")) == name], PALETTE[i % len(PALETTE)])
                  for i, name in enumerate(probes)]
        bad = [(e.offset, float(e.details.get("latency_ms") or 0.0)) for e in checks if not e.details.get("ok")]
        charts.append(line_chart("probe-latency", "Probe latency and failed checks", axis, series, unit="ms",
                                 bad=bad, caption=f"{len(checks)} checks, {len(bad)} failed (red crosses)."))
    stats = [e for e in events if e.kind == ev.LOAD_STATS]
    if stats:
        errors = [(e.offset, 100.0 * float(e.details.get("error_rate") or 0.0)) for e in stats]
        charts.append(line_chart("load-errors", "Load: error rate", axis, [Series("error rate", errors, RED)],
                                 unit="% failed", y_format=lambda v: f"{v:g}%",
                                 caption="Share of Locust requests that failed, per sample."))
        p95 = [(e.offset, float(e.details["p95_ms"])) for e in stats if e.details.get("p95_ms") is not None]
        p50 = [(e.offset, float(e.details["p50_ms"])) for e in stats if e.details.get("p50_ms") is not None]
        charts.append(line_chart("load-latency", "Load: response time p95 (p50 dashed)", axis,
                                 [Series("p95", p95, PALETTE[0]), Series("p50", p50, PALETTE[2], dashed=True)],
                                 unit="ms", caption="Locust response-time percentiles, per sample."))
    lanes = _alert_lanes(events, axis.end) + _probe_lanes(events, probes, axis.end)
    milestones = []
    for kind, label in MILESTONES:
        found = ev.first(events, kind)
        if found is not None:
            milestones.append((found.offset, label))
    if lanes or milestones:
        alerts = sum(1 for e in events if e.kind == ev.ALERT_FIRING)
        charts.append(lanes_chart("alerts", "Alerts firing, probes red, and the response", axis, lanes,
                                  milestones=milestones,
                                  caption=f"{alerts} alert firing(s); bars run from firing to resolved."))
    return charts


def _alert_lanes(events: list[Event], end: float) -> list[tuple[str, str, list[tuple[float, float]]]]:
    spans: dict[str, list[tuple[float, float]]] = {}
    open_at: dict[tuple[str, str], float] = {}
    for e in events:
        name = str(e.details.get("alertname") or "")
        key = (name, str(e.details.get("fingerprint") or name))
        if e.kind == ev.ALERT_FIRING and key not in open_at:
            open_at[key] = e.offset
            spans.setdefault(name, [])
        elif e.kind == ev.ALERT_RESOLVED and key in open_at:
            spans.setdefault(name, []).append((open_at.pop(key), e.offset))
    for (name, _), started in open_at.items():
        spans.setdefault(name, []).append((started, end))
    return [(f"alert {name}", "#f59e0b", s) for name, s in sorted(spans.items())]


def _probe_lanes(events: list[Event], probes: list[str], end: float) -> list[tuple[str, str, list[tuple[float, float]]]]:
    out = []
    for name in probes:
        spans, red_since = [], None
        for e in events:
            if e.kind != ev.PROBE_CHECKED or str(e.details.get("probe")) != name:
                continue
            if not e.details.get("ok") and red_since is None:
                red_since = e.offset
            elif e.details.get("ok") and red_since is not None:
                spans.append((red_since, e.offset))
                red_since = None
        if red_since is not None:
            spans.append((red_since, end))
        if spans:
            out.append((f"probe {name} red", RED, spans))
    return out
