"""The run history: one row per run, its action items, and schema migrations.

The same SQL runs on SQLite (the default, a file) and PostgreSQL (``postgresql://...``): only the
parameter style differs. Migrations are numbered and applied once, in order, recorded in
``schema_migrations``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gameday.clock import parse_iso
from gameday.errors import GamedayError, ServiceUnavailable
from gameday.folders import make_folder
from gameday.timeline import decode_json
from gameday.timeline_shapes import is_number

MIGRATIONS: list[str] = [
    # 1: runs and their action items
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        scenario TEXT NOT NULL,
        stack TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT '',
        started_at TEXT NOT NULL,
        duration_s DOUBLE PRECISION,
        severity_expected TEXT,
        severity_declared TEXT,
        outcome TEXT NOT NULL,
        passed INTEGER NOT NULL,
        exit_code INTEGER,
        metrics TEXT NOT NULL DEFAULT '{}',
        scores TEXT NOT NULL DEFAULT '{}',
        report_path TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX runs_scenario_started ON runs (scenario, started_at);
    CREATE TABLE action_items (
        run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        owner TEXT NOT NULL DEFAULT '',
        due TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'open',
        PRIMARY KEY (run_id, position)
    );
    """,
    # 2: what `history`, `action-items` and `trends` look up (newest runs first; open items of a run)
    """
    CREATE INDEX runs_started ON runs (started_at, run_id);
    CREATE INDEX action_items_status ON action_items (status, run_id);
    """,
]

QUERY_SECONDS = 3.0
"""A bound on every query: a ``runs`` that is a view over an endless recursive query must not hang a command.
A real history of 30,000 runs answers every query gameday asks in well under a second."""

MAX_JSON_CHARS = 1_000_000
"""A metrics or scores column longer than this was not written by gameday (its own are under 1 kB)."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    scenario: str
    started_at: str
    outcome: str
    passed: bool
    stack: str = ""
    category: str = ""
    duration_s: float | None = None
    severity_expected: str | None = None
    severity_declared: str | None = None
    exit_code: int | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    report_path: str = ""
    action_items: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ActionItem:
    """One review action item of a past run; ``position`` counts from 0 (``gameday action-items`` shows N = 1...)."""

    run_id: str
    position: int
    scenario: str
    text: str
    owner: str
    due: str
    status: str

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "owner": self.owner, "due": self.due, "status": self.status}


COLUMNS = ("run_id", "scenario", "stack", "category", "started_at", "duration_s", "severity_expected",
           "severity_declared", "outcome", "passed", "exit_code", "metrics", "scores", "report_path")


def default_history_url() -> str:
    return os.environ.get("GAMEDAY_HISTORY") or str(Path("reports") / "history.sqlite")


# libpq reads a password from these query parameters as well as from the user part of the URL.
_SECRET_PARAMETERS = frozenset({"password", "passfile", "sslpassword"})


def _redact(url: str) -> tuple[str, list[str]]:
    """The URL with every secret shown as ``***``, and the secrets (as written and decoded)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>", [url]
    secrets: list[str] = []
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if colon:
        secrets.append(password)
        userinfo = f"{user}:***"
    query = []
    for pair in parts.query.split("&") if parts.query else []:
        name, equals, value = pair.partition("=")
        if equals and unquote(name).strip().lower() in _SECRET_PARAMETERS:
            secrets.append(value)
            pair = f"{name}=***"
        query.append(pair)
    secrets += [unquote(s) for s in secrets]
    shown = parts._replace(netloc=f"{userinfo}{at}{host}", query="&".join(query)).geturl()
    return shown, sorted({s for s in secrets if s}, key=len, reverse=True)


def redact_url(url: str) -> str:
    """A history URL fit for messages: no password in its user part or its query parameters."""
    return _redact(url)[0]


def scrub(text: str, url: str) -> str:
    """``text`` (a driver's error message, which may echo parts of the URL) without the URL's secrets."""
    for secret in _redact(url)[1]:
        text = text.replace(secret, "***")
    return text


class History:
    """A history database; ``url`` is a SQLite file path or a ``postgresql://`` URL."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_history_url()
        self.is_postgres = self.url.startswith(("postgresql://", "postgres://"))
        self.where = redact_url(self.url) if self.is_postgres else self.url
        """The database as messages name it (never with its password)."""
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        self._deadline, self._interrupted = 0.0, False
        self._conn: Any = self._connect()
        try:
            self.migrate()
        except GamedayError:
            self.close()
            raise

    def _reason(self, exc: Exception) -> str:
        lines = scrub(str(exc), self.url).splitlines() or [type(exc).__name__]
        return lines[0][:160]  # scrubbed before cut: a cut must not leave half a password behind

    def _connect(self) -> Any:
        if self.is_postgres:
            import psycopg

            self._errors = (psycopg.Error,)
            try:
                pg = psycopg.connect(self.url, connect_timeout=5, autocommit=False)
                pg.execute(f"SET statement_timeout = {int(QUERY_SECONDS * 1000)}")
                pg.commit()
                return pg
            except psycopg.Error as exc:
                raise ServiceUnavailable(f"cannot reach the history database at {self.where}: "
                                         f"{self._reason(exc)}") from None
        path = Path(self.url)
        if path.is_dir():
            raise GamedayError(f"history database {path} is a folder; give a SQLite file, e.g. {path / 'history.sqlite'}")
        problem = make_folder(path.parent)
        if problem:
            raise GamedayError(f"cannot create the history database {path}: {problem}")
        try:
            conn = sqlite3.connect(path)
        except sqlite3.Error as exc:
            raise GamedayError(f"cannot open the history database {path}: {self._reason(exc)}") from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.set_progress_handler(self._past_deadline, 10_000)
        except sqlite3.Error as exc:
            conn.close()
            raise GamedayError(f"cannot use the history database {path}: {self._reason(exc)}") from None
        return conn

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.is_postgres else statement

    def _past_deadline(self) -> int:
        """SQLite's progress handler: a non-zero answer interrupts the statement running now."""
        self._interrupted = time.monotonic() > self._deadline
        return int(self._interrupted)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        self._deadline, self._interrupted = time.monotonic() + QUERY_SECONDS, False
        cur = self._conn.cursor()
        try:
            yield cur
            self._conn.commit()
        except Exception as exc:
            try:
                self._conn.rollback()
            except self._errors:
                pass  # the connection may be unusable; the first error is the one worth reporting
            if isinstance(exc, self._errors):
                # e.g. a file that is not SQLite, a locked or read-only database, a server gone mid-query
                stopped = self._interrupted or getattr(exc, "sqlstate", None) == "57014"  # PostgreSQL's timeout
                reason = (f"a query ran past {QUERY_SECONDS:g} s and was stopped (is runs or action_items a view "
                          "over an endless query?)" if stopped else self._reason(exc))
                raise GamedayError(f"cannot use the history database {self.where}: {reason}") from None
            raise
        finally:
            cur.close()

    def migrate(self) -> int:
        """Apply the migrations not applied yet; returns the schema version."""
        with self._cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            current = cur.fetchone()[0]
        if not isinstance(current, int) or isinstance(current, bool) or current < 0:
            raise GamedayError(f"history database {self.where}: schema_migrations holds version {_short(current)}, "
                               "which gameday never writes")
        if current > len(MIGRATIONS):
            raise GamedayError(f"history database {self.where} has schema version {current}, newer than this "
                               f"gameday knows ({len(MIGRATIONS)}): use a newer gameday, or another --history")
        for version, script in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            with self._cursor() as cur:
                for statement in (s.strip() for s in script.split(";")):
                    if statement:
                        cur.execute(statement)
                cur.execute(self._sql("INSERT INTO schema_migrations (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)"),
                            (version,))
            current = version
        return current

    def record(self, run: RunRecord) -> None:
        """Insert or replace one run (re-recording a run updates it)."""
        values = [getattr(run, c) for c in COLUMNS]
        values[COLUMNS.index("passed")] = 1 if run.passed else 0
        values[COLUMNS.index("metrics")] = json.dumps(run.metrics, sort_keys=True)
        values[COLUMNS.index("scores")] = json.dumps(run.scores, sort_keys=True)
        with self._cursor() as cur:
            cur.execute(self._sql("DELETE FROM action_items WHERE run_id = ?"), (run.run_id,))
            cur.execute(self._sql("DELETE FROM runs WHERE run_id = ?"), (run.run_id,))
            cur.execute(self._sql(f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"),
                        values)
            for i, item in enumerate(run.action_items):
                cur.execute(self._sql("INSERT INTO action_items (run_id, position, text, owner, due, status) "
                                      "VALUES (?, ?, ?, ?, ?, ?)"),
                            (run.run_id, i, item.get("text", ""), item.get("owner", ""), item.get("due", ""),
                             item.get("status", "open")))

    def _where(self, scenario: str | None, since: str | None, until: str | None) -> tuple[str, list[str]]:
        where, params = [], []
        for clause, value in (("scenario = ?", scenario), ("started_at >= ?", since), ("started_at < ?", until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        return (f" WHERE {' AND '.join(where)}" if where else ""), params

    def runs(self, *, scenario: str | None = None, since: str | None = None, until: str | None = None,
             limit: int | None = None) -> list[RunRecord]:
        """Runs in start order, filtered by scenario and by UTC start time (ISO prefixes compare as text);
        with ``limit``, only the latest that many."""
        where, params = self._where(scenario, since, until)
        sql = f"SELECT {', '.join(COLUMNS)} FROM runs{where}"
        with self._cursor() as cur:
            if limit is None:
                cur.execute(self._sql(sql + " ORDER BY started_at, run_id"), params)
                rows = cur.fetchall()
            else:
                cur.execute(self._sql(sql + " ORDER BY started_at DESC, run_id DESC LIMIT ?"), [*params, limit])
                rows = cur.fetchall()[::-1]
            items = self._action_items(cur, [r[0] for r in rows])
        return [self._record(row, items.get(row[0], [])) for row in rows]

    def count_runs(self, *, scenario: str | None = None, since: str | None = None, until: str | None = None) -> int:
        where, params = self._where(scenario, since, until)
        with self._cursor() as cur:
            cur.execute(self._sql(f"SELECT COUNT(*) FROM runs{where}"), params)
            return self._count(cur.fetchone()[0])

    def action_items(self, *, scenario: str | None = None, include_done: bool = False,
                     limit: int | None = None) -> tuple[list[ActionItem], int]:
        """Action items of past runs in start order (``include_done``: also those marked done): with ``limit``,
        the latest that many; and how many there are in all."""
        clauses, params = [], []
        if not include_done:
            clauses.append("a.status <> 'done'")
        if scenario is not None:
            clauses.append("r.scenario = ?")
            params.append(scenario)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        join = " FROM action_items a JOIN runs r ON r.run_id = a.run_id"
        with self._cursor() as cur:
            cur.execute(self._sql(f"SELECT COUNT(*){join}{where}"), params)
            total = self._count(cur.fetchone()[0])
            cur.execute(self._sql(f"SELECT a.run_id, a.position, r.scenario, a.text, a.owner, a.due, a.status{join}"
                                  f"{where} ORDER BY r.started_at DESC, a.run_id DESC, a.position DESC"
                                  + (" LIMIT ?" if limit is not None else "")),
                        [*params, limit] if limit is not None else params)
            rows = cur.fetchall()[::-1]
        return [self._item(row) for row in rows], total

    def _action_items(self, cur: Any, run_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for start in range(0, len(run_ids), 500):  # under SQLite's limit on parameters of one statement
            chunk = list(run_ids[start:start + 500])
            cur.execute(self._sql(f"SELECT run_id, position, text, owner, due, status FROM action_items "
                                  f"WHERE run_id IN ({', '.join('?' * len(chunk))}) ORDER BY run_id, position"), chunk)
            for row in cur.fetchall():
                item = self._item((row[0], row[1], "", *row[2:]))
                out.setdefault(item.run_id, []).append(item.as_dict())
        return out

    def close_action_item(self, run_id: str, position: int) -> None:
        """Mark one action item done (``position`` counts from 0 in the run's review); an unknown one is an error."""
        with self._cursor() as cur:
            cur.execute(self._sql("UPDATE action_items SET status = 'done' WHERE run_id = ? AND position = ?"),
                        (run_id, position))
            if cur.rowcount == 0:
                raise GamedayError(f"no action item {position + 1} in run {run_id} in the history")

    def _count(self, value: Any) -> int:
        if not isinstance(value, int):
            raise GamedayError(f"history database {self.where}: a count came back as {value!r}")
        return value

    def _bad_row(self, run_id: Any, column: str, problem: str) -> GamedayError:
        return GamedayError(f"history database {self.where}: run {str(run_id)[:80]!r}: {column}: {problem}, "
                            "which gameday never writes")

    def _item(self, row: Sequence[Any]) -> ActionItem:
        run_id, position, scenario, *texts = row
        for column, value in zip(("run_id", "scenario", "text", "owner", "due", "status"), (run_id, scenario, *texts),
                                 strict=True):
            if not isinstance(value, str):
                raise self._bad_row(run_id, f"action item {column}", f"expected text, got {_short(value)}")
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position < 1_000_000:
            raise self._bad_row(run_id, "action item position", f"{_short(position)} is not a position")
        return ActionItem(run_id, position, scenario, *texts)

    def _record(self, row: Sequence[Any], items: list[dict[str, str]]) -> RunRecord:
        """One row as a RunRecord, checked: a row gameday did not write is one line naming the run and column."""
        data = dict(zip(COLUMNS, row, strict=True))
        run_id = data["run_id"]
        for column in ("run_id", "scenario", "stack", "category", "started_at", "outcome", "report_path"):
            if not isinstance(data[column], str):
                raise self._bad_row(run_id, column, f"expected text, got {_short(data[column])}")
        try:
            parse_iso(data["started_at"])
        except ValueError:
            raise self._bad_row(run_id, "started_at", f"{_short(data['started_at'])} is not a time") from None
        for column in ("severity_expected", "severity_declared"):
            if data[column] is not None and not isinstance(data[column], str):
                raise self._bad_row(run_id, column, f"expected text or NULL, got {_short(data[column])}")
        if data["passed"] not in (0, 1):  # True and False are 1 and 0
            raise self._bad_row(run_id, "passed", f"{_short(data['passed'])} is not 0 or 1")
        data["passed"] = bool(data["passed"])
        duration = data["duration_s"]
        if duration is not None and not is_number(duration):
            raise self._bad_row(run_id, "duration_s", f"{_short(duration)} is not a number")
        data["duration_s"] = float(duration) if duration is not None else None
        exit_code = data["exit_code"]
        if exit_code is not None and (not isinstance(exit_code, int) or isinstance(exit_code, bool)):
            raise self._bad_row(run_id, "exit_code", f"{_short(exit_code)} is not a whole number")
        data["metrics"] = self._json_object(run_id, "metrics", data["metrics"])
        for name, value in data["metrics"].items():
            if value is not None and not is_number(value):
                raise self._bad_row(run_id, f"metrics.{name[:40]}", f"{_short(value)} is not a number")
        data["scores"] = self._json_object(run_id, "scores", data["scores"])
        return RunRecord(**data, action_items=items)

    def _json_object(self, run_id: Any, column: str, text: Any) -> dict[str, Any]:
        if text is None or text == "":
            return {}
        if not isinstance(text, str):
            raise self._bad_row(run_id, column, f"{type(text).__name__}, not JSON text")
        if len(text) > MAX_JSON_CHARS:
            raise self._bad_row(run_id, column, f"{len(text)} characters of JSON")
        try:
            value = decode_json(text)
        except ValueError as exc:
            raise self._bad_row(run_id, column, str(exc)) from None
        if not isinstance(value, dict):
            raise self._bad_row(run_id, column, f"a JSON {type(value).__name__}, not an object")
        return value

    def close(self) -> None:
        self._conn.close()


def _short(value: Any) -> str:
    """A value from a row, as a message shows it: its repr, cut (a row may hold megabytes)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
