"""The run history: one row per run, its action items, and schema migrations.

The same SQL runs on SQLite (the default, a file) and PostgreSQL (``postgresql://...``): only the
parameter style differs. Migrations are numbered and applied once, in order, recorded in
``schema_migrations``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gameday.errors import GamedayError, ServiceUnavailable
from gameday.folders import make_folder

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
]


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
                return psycopg.connect(self.url, connect_timeout=5, autocommit=False)
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
        except sqlite3.Error as exc:
            conn.close()
            raise GamedayError(f"cannot use the history database {path}: {self._reason(exc)}") from None
        return conn

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.is_postgres else statement

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
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
                raise GamedayError(f"cannot use the history database {self.where}: {self._reason(exc)}") from None
            raise
        finally:
            cur.close()

    def migrate(self) -> int:
        """Apply the migrations not applied yet; returns the schema version."""
        with self._cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)")
            cur.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            current = int(cur.fetchone()[0])
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

    def runs(self, *, scenario: str | None = None, since: str | None = None, until: str | None = None) -> list[RunRecord]:
        """Runs in start order, filtered by scenario and by UTC start time (ISO prefixes compare as text)."""
        where, params = [], []
        for clause, value in (("scenario = ?", scenario), ("started_at >= ?", since), ("started_at < ?", until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        sql = f"SELECT {', '.join(COLUMNS)} FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        with self._cursor() as cur:
            cur.execute(self._sql(sql + " ORDER BY started_at, run_id"), params)
            rows = cur.fetchall()
            items = self._action_items(cur, [r[0] for r in rows])
        return [self._record(row, items.get(row[0], [])) for row in rows]

    def _action_items(self, cur: Any, run_ids: Sequence[str]) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        if not run_ids:
            return out
        cur.execute("SELECT run_id, text, owner, due, status FROM action_items ORDER BY run_id, position")
        for run_id, text, owner, due, status in cur.fetchall():
            if run_id in run_ids:
                out.setdefault(run_id, []).append({"text": text, "owner": owner, "due": due, "status": status})
        return out

    def close_action_item(self, run_id: str, position: int) -> None:
        """Mark one action item done (``position`` counts from 0 in the run's review); an unknown one is an error."""
        with self._cursor() as cur:
            cur.execute(self._sql("UPDATE action_items SET status = 'done' WHERE run_id = ? AND position = ?"),
                        (run_id, position))
            if cur.rowcount == 0:
                raise GamedayError(f"no action item {position + 1} in run {run_id} in the history")

    @staticmethod
    def _record(row: Sequence[Any], items: list[dict[str, str]]) -> RunRecord:
        data = dict(zip(COLUMNS, row, strict=True))
        data["passed"] = bool(data["passed"])
        data["metrics"] = json.loads(data["metrics"] or "{}")
        data["scores"] = json.loads(data["scores"] or "{}")
        data["duration_s"] = float(data["duration_s"]) if data["duration_s"] is not None else None
        return RunRecord(**data, action_items=items)

    def close(self) -> None:
        self._conn.close()
