// The drill room's pages: the facilitator's console and a seat. Hand-written, no build step, no CDN.
// All text from the server is set with textContent (never parsed as HTML). The CSRF value is read from
// its cookie and sent in a header on every POST; the identity cookie itself is HttpOnly.
"use strict";

(function () {
  const view = document.body.dataset.view;
  const $ = (id) => document.getElementById(id);
  let state = null;
  let forms = null;
  let refreshing = false;
  let again = false;
  let lastRead = 0;
  let waiting = null;
  let lastId = 0;
  let pressed = null;  // the console's control pressed last, until what it did has been shown
  // The room allows each link a budget of reads (HTTP 429 past it): a page reads the state at most every
  // READ_GAP_MS however fast events come, and after a 429 waits the Retry-After it was given.
  const READ_GAP_MS = 200;
  const RECONNECT_MS = 2000;

  function csrf() {
    const m = document.cookie.match(/(?:^|; )gameday_csrf=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function notice(text, bad) {
    const n = $("notice");
    n.textContent = text;
    n.className = bad ? "error" : "ok";
  }

  async function post(path, body) {
    let res;
    try {
      res = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Gameday-CSRF": csrf()},
        body: JSON.stringify(body),
      });
    } catch (e) {
      notice("the room did not answer: " + e, true);
      return false;
    }
    const data = await res.json().catch(() => ({ok: false, error: "HTTP " + res.status}));
    notice(data.ok ? data.message : data.error, !data.ok);
    refresh();
    return data.ok;
  }

  function el(tag, text, attrs) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function fill(list, items) {
    list.replaceChildren(...items);
  }

  // Rebuilt only when what they show changed: a rebuild would take the focus (and an open list) away
  // from someone using the keyboard, and events arrive every few seconds.
  const shown = new Map();
  function changed(key, data) {
    const text = JSON.stringify(data);
    if (shown.get(key) === text) return false;
    shown.set(key, text);
    return true;
  }

  function options(select, values) {
    const now = Array.from(select.options).map((o) => [o.value, o.textContent]);
    if (JSON.stringify(now) === JSON.stringify(values)) return;
    const keep = select.value;
    fill(select, values.map(([value, label]) => el("option", label, {value: value})));
    if (values.some(([v]) => v === keep)) select.value = keep;
  }

  function tplus(t) {
    if (typeof t !== "number") return "";
    const s = Math.max(0, Math.round(t));
    return "T+" + (s >= 60 ? Math.floor(s / 60) + "m" + String(s % 60).padStart(2, "0") + "s" : s + "s");
  }

  function describe(e) {
    if (e.text) return e.text;
    const d = e.details || {};
    // A probe's colour before the phase it was checked in (probe.checked carries both); a step's command and
    // exit with it, as the terminal prints them.
    const ran = d.command ? " ($ " + d.command + (d.exit_code !== null && d.exit_code !== undefined ?
      " -> exit " + d.exit_code : "") + ")" : "";
    const what = d.text || (d.probe ? d.probe + (d.ok ? " green" : " red") : "") || d.severity ||
      (d.role ? d.role + ": " + d.person : "") || d.phase ||
      (d.step ? "step " + d.step + " " + d.outcome + ran : "") || d.reason || d.signal || d.alertname ||
      d.outcome || "";
    const who = e.actor + (d.seat ? ", seat " + d.seat : "");
    return e.kind + " (" + who + ")" + (what ? ": " + what : "");
  }

  // --- the live feed (server-sent events, resumed by the browser with Last-Event-ID) ---------------

  function connect() {
    const source = new EventSource("/api/events" + (lastId ? "?last_event_id=" + lastId : ""));
    source.addEventListener("timeline", (m) => {
      const e = JSON.parse(m.data);
      lastId = Math.max(lastId, e.id);
      if (document.querySelector('#feed li[data-id="' + e.id + '"]')) return;
      const li = el("li", null, {"data-testid": "feed-item", "data-kind": e.kind, "data-id": String(e.id)});
      li.append(el("span", tplus(e.t_s), {class: "t"}), " ", el("span", describe(e), {class: "what"}));
      $("feed").prepend(li);
      refresh();
    });
    source.addEventListener("room", () => refresh());
    source.onerror = () => {
      notice("reconnecting to the room...", true);
      // The browser reconnects by itself after a dropped stream (sending Last-Event-ID), but gives up on an
      // HTTP error (a 429: too many streams open from this link): then a new stream from the last event seen.
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
    };
    source.onopen = () => { if ($("notice").textContent === "reconnecting to the room...") notice("connected"); };
  }

  // --- the state of the drill ---------------------------------------------------------------------

  function later(ms) {
    waiting = setTimeout(() => { waiting = null; refresh(); }, ms);
  }

  async function refresh() {
    if (waiting !== null) return;  // a read is already due
    if (refreshing) { again = true; return; }
    const gap = lastRead + READ_GAP_MS - Date.now();
    if (gap > 0) { later(gap); return; }
    refreshing = true;
    lastRead = Date.now();
    let retry = 0;
    try {
      const res = await fetch("/api/state", {credentials: "same-origin"});
      if (res.ok) { state = await res.json(); render(); }
      else if (res.status === 429) retry = 1000 * (Number(res.headers.get("Retry-After")) || 1);
    } finally {
      refreshing = false;
      if (retry) { again = false; later(retry); }
      else if (again) { again = false; refresh(); }
    }
  }

  function render() {
    const room = state.room, drill = state.drill, you = state.you;
    $("scenario").textContent = room.scenario;
    $("mode").textContent = room.mode + (room.speed ? " " + room.speed + "x" : "") + (room.paused ? " (paused)" : "");
    if (view === "seat") {
      $("whoami").textContent = you.role ? you.name + ", " + you.role.replace(/_/g, " ") : "not seated yet";
      $("join").hidden = Boolean(you.role);
      options(document.querySelector("#seat-form select[name=role]"), state.roles.map((r) => [r.id, r.label]));
      $("waiting").hidden = !you.role || drill !== null || room.status === "finished";
    } else {
      $("room-status").textContent = room.status + (room.paused ? " (clock paused)" : "");
      $("room-error").textContent = room.error || "";
      const focused = document.activeElement;
      $("start").disabled = room.status !== "waiting";
      $("stop").disabled = !["starting", "running"].includes(room.status);
      $("pause").disabled = room.status !== "running" || room.mode !== "tabletop" || room.paused;
      $("resume").disabled = room.status !== "running" || !room.paused;
      // A control just pressed is often disabled by what it did (Start, Pause): its focus goes to the
      // drill's status above the controls, never to the next button (after Start that would be Stop, and a
      // second Enter would end the drill), so Tab reaches the control that is now enabled.
      if (pressed && pressed.disabled && (focused === pressed || focused === document.body || focused === null)) {
        $("controls-title").focus();
      }
      if (pressed && pressed.disabled) pressed = null;
      renderSeats();
    }
    if (changed("people", state.seats)) fill($("people"), state.seats.filter((s) => s.name).map((s) => el("option", null, {value: s.name})));
    if (changed("alerts", state.alerts)) fill($("alerts"), state.alerts.map((a) => el("li", a, {"data-testid": "alert"})));
    if (changed("probes", state.probes)) fill($("probes"), state.probes.map((p) => el("li", p.name + ": " + (p.ok ? "green" : "red"),
      {"data-testid": "probe", class: p.ok ? "green" : "red"})));
    $("drill").hidden = drill === null || room.status === "finished";
    $("finished").hidden = room.status !== "finished" && room.status !== "failed";
    if ((room.scorecard || room.status === "failed") && changed("scorecard", room)) renderScorecard(room);
    if (drill === null) return;
    $("clock").textContent = tplus(drill.t_s);
    $("phase").textContent = drill.phase;
    $("severity").textContent = drill.severity || "none";
    $("gate").textContent = drill.gate ? "Before moving on: " + drill.gate : "";
    if ($("prompt")) $("prompt").textContent = drill.prompt;
    if (view === "console") renderConsole(drill);
    renderActions(drill, you);
  }

  function renderScorecard(room) {
    const card = room.scorecard;
    const box = $("scorecard");
    const parts = [];
    if (room.error) parts.push(el("p", room.error, {class: "error"}));
    if (card) {
      parts.push(el("p", "Overall: " + (card.overall || "not rated") + " (" + card.overall_meaning + ")",
        {"data-testid": "overall"}));
      parts.push(el("p", card.overall_reason));
      parts.push(el("p", card.tally));
      const ul = el("ul");
      for (const c of card.capabilities) {
        ul.append(el("li", c.title + ": " + (c.rating || "not rated") + " - " + c.reason, {"data-testid": "capability"}));
      }
      parts.push(ul);
    }
    if (room.report) {
      parts.push(el("a", "The report of this run", {href: room.report, "data-testid": "report-link"}));
    }
    fill(box, parts);
  }

  // Rows are kept and updated in place, never rebuilt: someone on the keyboard keeps their place while
  // seats join and injects are released around them.
  function row(tbody, key, index, make) {
    let tr = tbody.querySelector('tr[data-key="' + CSS.escape(key) + '"]');
    if (!tr) { tr = make(); tr.dataset.key = key; tr.tabIndex = -1; }
    // Moved only when out of place: a node taken out of the page loses the focus, even put straight back.
    if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] || null);
    return tr;
  }

  function cells(tr, texts) {
    while (tr.cells.length < texts.length) tr.append(el("td"));
    texts.forEach((text, i) => { if (tr.cells[i].textContent !== String(text)) tr.cells[i].textContent = String(text); });
  }

  function renderSeats() {
    if (!changed("seats", state.seats)) return;
    const tbody = document.querySelector("#seats tbody");
    state.seats.forEach((s, index) => {
      const tr = row(tbody, "seat-" + s.number, index, () => {
        const tr = el("tr", null, {"data-testid": "seat-row"});
        tr.append(el("td"), el("td"), el("td"));
        const td = el("td", null, {class: "act"});
        const sel = el("select", null, {"aria-label": "role of seat " + s.number});
        const b = el("button", "Set", {type: "button", class: "inline", "aria-label": "set the role of seat " + s.number});
        b.addEventListener("click", () => post("/api/control", {op: "set_role", seat: s.number, role: sel.value}));
        td.append(sel, b);
        tr.append(td);
        return tr;
      });
      cells(tr, [s.number, s.name || "(not joined)", s.role ? s.role.replace(/_/g, " ") : "-"]);
      const sel = tr.querySelector("select");
      options(sel, state.roles.map((r) => [r.id, r.label]));
      if (s.role && document.activeElement !== sel) sel.value = s.role;
    });
  }

  function renderConsole(drill) {
    $("fault").textContent = drill.fault_live ? "live" : "not live";
    fill($("window"), drill.fault_window.map((w) => el("li", tplus(w.t_s) + " " + w.kind)));
    if (changed("injects", drill.injects)) {
      const tbody = document.querySelector("#injects tbody");
      drill.injects.forEach((i, index) => {
        const tr = row(tbody, i.inject, index, () => {
          const tr = el("tr", null, {"data-testid": "inject-row", "data-inject": i.inject});
          tr.append(el("td", null, {class: "key"}), el("td"), el("td", null, {class: "long"}),
            el("td", null, {class: "key"}), el("td", null, {class: "act"}));
          for (const [action, label] of [["release_inject", "Release"], ["withhold_inject", "Withhold"]]) {
            const b = el("button", label, {type: "button", "data-testid": action + "-" + i.inject,
              "aria-label": label + " " + i.inject});
            b.addEventListener("click", () => post("/api/action", {action: action, inject: i.inject}));
            tr.cells[4].append(b);
          }
          return tr;
        });
        cells(tr, [i.inject, i.kind + (i.source ? ", " + i.source : ""), i.text, i.state]);
        if (i.state !== "pending" && tr.cells[4].childElementCount) {
          // Its buttons go; focus on one of them stays on the row, so Tab goes on to the next inject.
          const had = tr.cells[4].contains(document.activeElement);
          tr.cells[4].replaceChildren();
          if (had) tr.focus();
        }
      });
    }
    if (changed("checklist", drill.checklist)) fill(document.querySelector("#checklist tbody"), drill.checklist.map((c) => {
      const tr = el("tr", null, {"data-testid": "step-row"});
      tr.append(el("td", c.step), el("td", c.title), el("td", c.command || "", {class: "long"}), el("td", c.status));
      return tr;
    }));
  }

  // --- the action forms: those this role may take in this phase -------------------------------------

  function listValues(name, drill) {
    switch (name) {
      case "signals": return state.signals.map((s) => [s, s.replace(/_/g, " ")]);
      case "audiences": return state.audiences.map((a) => [a, a]);
      case "severities": return drill.severities.map((s) => [s.id, s.name + " " + s.title]);
      case "incident_roles": return state.roles.filter((r) => r.id !== "observer").map((r) => [r.id, r.label]);
      case "steps": return drill.checklist.map((c) => [String(c.step), c.step + ". " + c.title + " (" + c.status + ")"]);
      case "command_steps": return drill.checklist.filter((c) => c.command).map((c) => [String(c.step), c.step + ". " + c.title + ": $ " + c.command]);
    }
    return [];
  }

  function renderActions(drill, you) {
    if (!forms) return;
    const box = $("actions");
    for (const form of forms) {
      const action = form.dataset.action;
      // The drill core's own table (who may act, in which phases), as /api/state gives it for this role.
      let show = (you.actions[action] || []).includes(drill.phase) && !drill.finished;
      if (action === "detect") show = show && !drill.detected;
      if (action === "acknowledge") show = show && drill.detected && !drill.acknowledged;
      if (action === "run_step") show = show && drill.can_run_commands;
      if (action === "mitigated") show = show && !drill.mitigated;
      if (action === "confirm_all_clear") show = show && Boolean(drill.pending_all_clear);
      if (action === "request_all_clear") show = show && !drill.resolved;
      if (action === "record_review") show = show && !drill.reviewed;
      form.hidden = !show;
      if (!show) continue;
      for (const sel of form.querySelectorAll("select[data-list]")) options(sel, listValues(sel.dataset.list, drill));
      // A seat is always its own person (the server records the seat's name); only the facilitator names one.
      for (const input of form.querySelectorAll("input[data-me]")) input.closest("label").hidden = you.role !== "facilitator";
      const pending = form.querySelector("[data-pending]");
      if (pending) pending.textContent = "Declared by " + drill.pending_all_clear + ": a second person confirms.";
      const second = form.querySelector("[data-second]");
      if (second) second.hidden = you.role !== "facilitator";
      if (action === "advance" && drill.gate) form.querySelector("button").title = drill.gate;
    }
    if (!box.childElementCount) box.append(...forms);
  }

  function formBody(form) {
    const body = {action: form.dataset.action};
    for (const field of form.elements) {
      if (!field.name) continue;
      if (field.type === "checkbox") body[field.name] = field.checked;
      else if (["went_well", "went_poorly", "got_lucky"].includes(field.name)) body[field.name] = field.value.split("\n").filter((l) => l.trim());
      else if (field.name === "action_items") {
        body.action_items = field.value.split("\n").filter((l) => l.trim()).map((l) => {
          const [text, owner, due] = l.split("|").map((p) => (p || "").trim());
          return {text: text, owner: owner || "", due: due || ""};
        });
      } else if (field.name === "step") body.step = parseInt(field.value, 10);
      else body[field.name] = field.value;
    }
    return body;
  }

  async function loadForms() {
    const res = await fetch("/static/forms.html", {credentials: "same-origin"});
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    forms = Array.from(doc.querySelectorAll("template#action-forms")[0].content.querySelectorAll("form"))
      .map((f) => document.importNode(f, true));
    for (const form of forms) {
      form.setAttribute("data-testid", "form-" + form.dataset.action);
      form.hidden = true;
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const ok = await post("/api/action", formBody(form));
        if (ok) for (const t of form.querySelectorAll("textarea, input[type=text], input:not([type])")) if (!t.hasAttribute("data-me")) t.value = "";
      });
      const tpl = form.querySelector("[data-template]");
      if (tpl) tpl.addEventListener("click", () => {
        const audience = form.querySelector("select[name=audience]").value;
        form.querySelector("textarea[name=text]").value = (state.drill.templates || {})[audience] || "";
      });
    }
  }

  // --- start ----------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", async () => {
    if (view === "seat") {
      $("seat-form").addEventListener("submit", (ev) => {
        ev.preventDefault();
        const f = ev.target;
        post("/api/seat", {name: f.elements.name.value, role: f.elements.role.value});
      });
    } else {
      for (const b of document.querySelectorAll("[data-control]")) {
        b.addEventListener("click", () => { pressed = b; post("/api/control", {op: b.dataset.control}); });
      }
    }
    await loadForms();
    await refresh();
    connect();
  });
})();
