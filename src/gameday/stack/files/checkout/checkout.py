"""checkout: the demo stack's web service. Standard library plus psycopg and redis from Debian.

    GET  /health        PostgreSQL (through Toxiproxy), Redis (through Toxiproxy), spool writable -> 200 or 503
    GET  /health/writes a write to each store: an order inserted and rolled back, a short-lived cache key
    GET  /metrics       Prometheus text format, written by hand
    GET  /products      from PostgreSQL, cached in Redis for 30 s (a cache failure is counted, not fatal)
    POST /orders        {"product_id": 1, "quantity": 2} -> row in PostgreSQL + a file in the spool
    GET  /orders/<id>   one order

PostgreSQL is reached by name (CHECKOUT_PG_HOST, postgres.demo.internal in the demo stack), resolved by the
container's resolver each time a connection is made; pooled connections are recycled after 20 s, as real
pools do so a moved database is found, so a failing DNS shows within that. CHECKOUT_DNS_ADDRESS starts the
demo's zone server (zone_dns.py) on that address, port 53: the stand-in for a company's DNS.

Timeouts are short on purpose (connect 2 s, statement 2 s set on the role, a 3 s client-side deadline
per query, Redis socket 2 s): a broken dependency shows as an error within seconds, never as a hung
request. Configuration comes from environment variables; passwords from the
stack's env file (CHECKOUT_SECRETS), so they never appear in a process listing.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import redis

HOST = "127.0.0.1"
PORT = int(os.environ.get("CHECKOUT_PORT", "18080"))
PG_PORT = int(os.environ.get("CHECKOUT_PG_PORT", "25432"))
PG_HOST = os.environ.get("CHECKOUT_PG_HOST", HOST)
DNS_ADDRESS = os.environ.get("CHECKOUT_DNS_ADDRESS", "")
ZONE = {"postgres.demo.internal": HOST, "redis.demo.internal": HOST}
POOL_MAX_AGE_S = 20.0
REDIS_PORT = int(os.environ.get("CHECKOUT_REDIS_PORT", "26379"))
SPOOL = os.environ.get("CHECKOUT_SPOOL", "/var/lib/checkout/spool")
TIMEOUT_S = 2.0
QUERY_DEADLINE_S = 3.0
"""Longer than the server's statement_timeout (2 s), which answers first when the server is alive."""
REASONS = ("connect", "timeout", "auth", "saturated", "lock", "read_only", "oom", "dns", "other")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
TCP_INFO_TOTAL_RETRANS = 100
"""Offset of ``tcpi_total_retrans`` (u32) in Linux's struct tcp_info: 8 one-byte fields, then 23 u32 before it."""


def read_secrets(path: str) -> dict[str, str]:
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep and not key.startswith("#"):
                values[key] = value
    return values


SECRETS = read_secrets(os.environ.get("CHECKOUT_SECRETS", "/run/gameday/stack.env"))


# --- metrics -------------------------------------------------------------------------------------


class Histogram:
    """Bucket counts, sum and count of durations per label value, in the text format; the caller holds the lock."""

    def __init__(self, name: str, label: str) -> None:
        self.name, self.label = name, label
        self.counts: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.totals: dict[str, int] = {}

    def observe(self, key: str, seconds: float) -> None:
        counts = self.counts.setdefault(key, [0] * len(BUCKETS))
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                counts[i] += 1
        self.sums[key] = self.sums.get(key, 0.0) + seconds
        self.totals[key] = self.totals.get(key, 0) + 1

    def lines(self, keys: tuple[str, ...]) -> list[str]:
        out = []
        for key in keys:
            counts, total, tag = self.counts.get(key, [0] * len(BUCKETS)), self.totals.get(key, 0), f'{self.label}="{key}"'
            for bound, n in zip(BUCKETS, counts, strict=True):
                out.append(f'{self.name}_bucket{{{tag},le="{bound}"}} {n}')
            out.append(f'{self.name}_bucket{{{tag},le="+Inf"}} {total}')
            out.append(f'{self.name}_sum{{{tag}}} {self.sums.get(key, 0.0):.6f}')
            out.append(f'{self.name}_count{{{tag}}} {total}')
        return out


class Metrics:
    """Counters and latency histograms (requests by endpoint, dependency calls); thread-safe, in the text format."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.errors: dict[str, int] = {}
        self.dependency_errors: dict[tuple[str, str], int] = {}
        self.latency = Histogram("checkout_request_duration_seconds", "endpoint")
        self.calls = Histogram("checkout_dependency_duration_seconds", "dependency")
        self.retransmits: dict[str, int] = {}

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (endpoint, method, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            if status >= 500:
                self.errors[endpoint] = self.errors.get(endpoint, 0) + 1
            self.latency.observe(endpoint, seconds)

    def dependency_error(self, dependency: str, reason: str) -> None:
        with self.lock:
            key = (dependency, reason)
            self.dependency_errors[key] = self.dependency_errors.get(key, 0) + 1

    def dependency_call(self, dependency: str, seconds: float, retransmits: int = 0) -> None:
        """One call to a dependency, answered or not: its time, and the TCP segments its socket sent again."""
        with self.lock:
            self.calls.observe(dependency, seconds)
            self.retransmits[dependency] = self.retransmits.get(dependency, 0) + max(0, retransmits)

    def render(self) -> str:
        out = [
            "# HELP checkout_requests_total HTTP requests by endpoint, method and status.",
            "# TYPE checkout_requests_total counter",
        ]
        with self.lock:
            for (endpoint, method, status), n in sorted(self.requests.items()):
                out.append(f'checkout_requests_total{{endpoint="{endpoint}",method="{method}",status="{status}"}} {n}')
            out += ["# HELP checkout_request_errors_total Requests answered with a 5xx status, by endpoint.",
                    "# TYPE checkout_request_errors_total counter"]
            for endpoint, n in sorted(self.errors.items()):
                out.append(f'checkout_request_errors_total{{endpoint="{endpoint}"}} {n}')
            out += ["# HELP checkout_dependency_errors_total Failed calls to a dependency, by dependency and reason.",
                    "# TYPE checkout_dependency_errors_total counter"]
            # Every series from zero, so rate() sees the first error as an increase.
            for dep in ("postgres", "redis", "spool"):
                for reason in REASONS:
                    n = self.dependency_errors.get((dep, reason), 0)
                    out.append(f'checkout_dependency_errors_total{{dependency="{dep}",reason="{reason}"}} {n}')
            out += ["# HELP checkout_request_duration_seconds Request latency by endpoint.",
                    "# TYPE checkout_request_duration_seconds histogram"]
            out += self.latency.lines(tuple(sorted(self.latency.counts)))
            out += ["# HELP checkout_dependency_duration_seconds Time of each call to a dependency, answered or not.",
                    "# TYPE checkout_dependency_duration_seconds histogram"]
            out += self.calls.lines(("postgres",))  # from zero, so the first slow call is an increase
            retransmits_help = ("Segments sent again on sockets to a dependency (the kernel's tcpi_total_retrans): "
                                "packets lost on the way.")
            out += [f"# HELP checkout_dependency_tcp_retransmits_total {retransmits_help}",
                    "# TYPE checkout_dependency_tcp_retransmits_total counter"]
            for dep in ("postgres",):
                out.append(f'checkout_dependency_tcp_retransmits_total{{dependency="{dep}"}} {self.retransmits.get(dep, 0)}')
        out += spool_gauges()
        out += ["# HELP checkout_clock_seconds checkout's wall clock when scraped (Unix seconds), to compare with the scraper's.",
                "# TYPE checkout_clock_seconds gauge",
                f"checkout_clock_seconds {time.time():.3f}"]
        return "\n".join(out) + "\n"


def spool_gauges() -> list[str]:
    try:
        st = os.statvfs(SPOOL)
    except OSError:
        return []
    return [
        "# HELP checkout_spool_free_bytes Free bytes in the order spool filesystem.",
        "# TYPE checkout_spool_free_bytes gauge",
        f"checkout_spool_free_bytes {st.f_bavail * st.f_frsize}",
        "# HELP checkout_spool_size_bytes Size of the order spool filesystem in bytes.",
        "# TYPE checkout_spool_size_bytes gauge",
        f"checkout_spool_size_bytes {st.f_blocks * st.f_frsize}",
    ]


METRICS = Metrics()


# --- dependencies --------------------------------------------------------------------------------


class DependencyError(Exception):
    def __init__(self, dependency: str, detail: str, reason: str = "other") -> None:
        super().__init__(f"{dependency}: {detail}")
        self.dependency = dependency
        self.detail = detail
        self.reason = reason


def reason_of(exc: BaseException) -> str:
    """One of REASONS: what the alert rules tell apart."""
    text = str(exc).lower()
    if isinstance(exc, redis.AuthenticationError) or any(
        w in text for w in ("password authentication", "authentication failed", "wrongpass", "noauth",
                            "invalid username-password", "user is disabled", "noperm", "not permitted to log in")
    ):
        return "auth"
    if "too many clients" in text or "remaining connection slots are reserved" in text:
        return "saturated"
    if "lock timeout" in text:  # before "timeout": the server answered, a lock held the statement
        return "lock"
    if "could not translate host name" in text or "name resolution" in text or "name or service not known" in text:
        return "dns"
    if "read-only transaction" in text:
        return "read_only"
    if "oom command not allowed" in text:
        return "oom"
    if isinstance(exc, redis.TimeoutError) or "timeout" in text or "timed out" in text:
        return "timeout"
    if isinstance(exc, (redis.ConnectionError, psycopg.OperationalError)):
        return "connect"
    return "other"


class Pool:
    """A few reused PostgreSQL connections, as a real service keeps: added latency then shows per query,
    not three times over in each connection's handshake. A connection that fails is thrown away, and one older
    than POOL_MAX_AGE_S is closed instead of reused, so the database's name is looked up again."""

    def __init__(self, size: int = 8) -> None:
        self.idle: queue.LifoQueue[tuple[psycopg.Connection, float]] = queue.LifoQueue(maxsize=size)

    def take(self) -> tuple[psycopg.Connection, float, bool]:
        """An idle connection young enough to reuse, or a new one: (connection, when it was made, reused)."""
        while True:
            try:
                conn, born = self.idle.get_nowait()
            except queue.Empty:
                return self.connect(), time.monotonic(), False
            if time.monotonic() - born < POOL_MAX_AGE_S:
                return conn, born, True
            conn.close()

    def connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(
                host=PG_HOST, port=PG_PORT, dbname="checkout", user="checkout",
                password=SECRETS.get("GAMEDAY_DEMO_PG_CHECKOUT_PASSWORD", ""),
                connect_timeout=int(TIMEOUT_S), autocommit=True,
            )
        except psycopg.Error as exc:
            reason = reason_of(exc)
            if reason == "timeout":  # libpq's "connection timeout expired", said the way the query deadline says it
                raise DependencyError("postgres", f"no connection within {TIMEOUT_S:g}s", reason) from exc
            raise DependencyError("postgres", short(exc), reason) from exc

    def run(self, query: str, params: tuple[object, ...], *, rollback: bool = False) -> list[tuple[object, ...]]:
        started = time.perf_counter()
        try:
            conn, born, reused = self.take()
        except DependencyError:
            METRICS.dependency_call("postgres", time.perf_counter() - started)
            raise
        sent_again = retransmits(conn) if reused else 0  # a new one's SYNs sent again count too
        timed_out = threading.Event()
        deadline = threading.Timer(QUERY_DEADLINE_S, cut, args=(conn, timed_out))
        deadline.start()
        try:
            # Only a rolled-back write pays for BEGIN and ROLLBACK: every other query stays one round trip.
            block = conn.transaction(force_rollback=True) if rollback else contextlib.nullcontext()
            with block, conn.cursor() as cur:
                cur.execute(query, params)
                rows = cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            METRICS.dependency_call("postgres", time.perf_counter() - started, retransmits(conn) - sent_again)
            conn.close()
            if timed_out.is_set():
                raise DependencyError("postgres", f"no answer within {QUERY_DEADLINE_S:g}s", "timeout") from exc
            if reused and conn.broken:
                return self.run(query, params, rollback=rollback)  # it died while idle (a restart): one fresh try
            raise DependencyError("postgres", short(exc), reason_of(exc)) from exc
        finally:
            deadline.cancel()
        METRICS.dependency_call("postgres", time.perf_counter() - started, retransmits(conn) - sent_again)
        try:
            self.idle.put_nowait((conn, born))
        except queue.Full:
            conn.close()
        return rows


def retransmits(conn: psycopg.Connection) -> int:
    """The segments the connection's socket has sent again so far (0 when it cannot be read): lost packets show
    here before they show as errors."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_TOTAL_RETRANS + 4)
    except (OSError, psycopg.Error):
        return 0
    if len(info) < TCP_INFO_TOTAL_RETRANS + 4:
        return 0
    return int.from_bytes(info[TCP_INFO_TOTAL_RETRANS:TCP_INFO_TOTAL_RETRANS + 4], sys.byteorder)


def cut(conn: psycopg.Connection, timed_out: threading.Event) -> None:
    """The client-side deadline: libpq has none, and statement_timeout cannot help when the server (or
    the path to it) is frozen. Shutting the socket down makes the blocked call fail at once."""
    timed_out.set()
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, psycopg.Error):
        pass


POOL = Pool()
CACHE = redis.Redis(
    host=HOST, port=REDIS_PORT, username="checkout",
    password=SECRETS.get("GAMEDAY_DEMO_REDIS_CHECKOUT_PASSWORD", ""),
    socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, decode_responses=True,
)


def short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def sql(query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    return POOL.run(query, params)


# --- endpoints -----------------------------------------------------------------------------------


def health() -> tuple[int, dict[str, object]]:
    checks: dict[str, str] = {}
    try:
        sql("SELECT 1")
        checks["postgres"] = "ok"
    except DependencyError as exc:
        METRICS.dependency_error("postgres", exc.reason)
        checks["postgres"] = exc.detail
    try:
        CACHE.ping()
        checks["redis"] = "ok"
    except redis.RedisError as exc:
        METRICS.dependency_error("redis", reason_of(exc))
        checks["redis"] = short(exc)
    try:
        # A new file each time: rewriting one file would reuse its own freed page, so a full spool looked fine.
        probe = os.path.join(SPOOL, f".health-{os.getpid()}-{threading.get_ident()}")
        try:
            with open(probe, "wb") as f:
                f.write(b"\0" * 16384)  # about what one order needs
                f.flush()
                os.fsync(f.fileno())
        finally:
            with contextlib.suppress(OSError):
                os.unlink(probe)
        checks["spool"] = "ok"
    except OSError as exc:
        METRICS.dependency_error("spool", "other")
        checks["spool"] = exc.strerror or short(exc)
    ok = all(v == "ok" for v in checks.values())
    return (200 if ok else 503), {"status": "ok" if ok else "failing", "checks": checks}


def health_writes() -> tuple[int, dict[str, object]]:
    """Can checkout write? An order row inserted and rolled back (a lock on orders or a read-only session shows
    here, not in /health), and a cache key with a short expiry (a Redis out of memory or paused shows here)."""
    checks: dict[str, str] = {}
    try:
        POOL.run("INSERT INTO orders (product_id, quantity) SELECT id, 1 FROM products ORDER BY id LIMIT 1",
                 (), rollback=True)
        checks["postgres"] = "ok"
    except DependencyError as exc:
        METRICS.dependency_error("postgres", exc.reason)
        checks["postgres"] = exc.detail
    try:
        CACHE.set("checkout:health-write", "1", ex=10)
        checks["redis"] = "ok"
    except redis.RedisError as exc:
        METRICS.dependency_error("redis", reason_of(exc))
        checks["redis"] = short(exc)
    ok = all(v == "ok" for v in checks.values())
    return (200 if ok else 503), {"status": "ok" if ok else "failing", "checks": checks}


def products() -> tuple[int, object]:
    try:
        cached = CACHE.get("checkout:products")
        if cached:
            return 200, json.loads(cached)
    except redis.RedisError as exc:
        METRICS.dependency_error("redis", reason_of(exc))  # a cache miss, not an outage
    rows = sql("SELECT id, name, price_cents FROM products ORDER BY id")
    items = [{"id": r[0], "name": r[1], "price_cents": r[2]} for r in rows]
    try:
        CACHE.set("checkout:products", json.dumps(items), ex=30)
    except redis.RedisError as exc:
        METRICS.dependency_error("redis", reason_of(exc))
    return 200, items


def create_order(body: dict[str, object]) -> tuple[int, object]:
    product_id, quantity = body.get("product_id"), body.get("quantity", 1)
    if not isinstance(product_id, int) or not isinstance(quantity, int) or quantity < 1:
        return 400, {"error": "product_id and quantity must be positive integers"}
    rows = sql(
        "INSERT INTO orders (product_id, quantity) SELECT id, %s FROM products WHERE id = %s "
        "RETURNING id, product_id, quantity, created_at::text",
        (quantity, product_id),
    )
    if not rows:
        return 404, {"error": f"no product {product_id}"}
    order = {"id": rows[0][0], "product_id": rows[0][1], "quantity": rows[0][2], "created_at": rows[0][3]}
    try:
        with open(os.path.join(SPOOL, f"order-{order['id']}.json"), "w", encoding="utf-8") as f:
            json.dump(order, f)
    except OSError as exc:
        raise DependencyError("spool", exc.strerror or short(exc)) from exc
    return 201, order


def get_order(order_id: int) -> tuple[int, object]:
    rows = sql("SELECT id, product_id, quantity, created_at::text FROM orders WHERE id = %s", (order_id,))
    if not rows:
        return 404, {"error": f"no order {order_id}"}
    return 200, {"id": rows[0][0], "product_id": rows[0][1], "quantity": rows[0][2], "created_at": rows[0][3]}


# --- HTTP ----------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server_version = "checkout/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self.reply("/metrics", 200, METRICS.render(), "text/plain; version=0.0.4")
            return
        order = re.fullmatch(r"/orders/(\d+)", self.path)
        if self.path == "/health":
            self.route("/health", health)
        elif self.path == "/health/writes":
            self.route("/health/writes", health_writes)
        elif self.path == "/products":
            self.route("/products", products)
        elif order:
            self.route("/orders/{id}", lambda: get_order(int(order.group(1))))
        else:
            self.reply("other", 404, json.dumps({"error": "not found"}))

    def do_POST(self) -> None:
        if self.path != "/orders":
            self.reply("other", 404, json.dumps({"error": "not found"}))
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except ValueError:
            self.reply("/orders", 400, json.dumps({"error": "body is not JSON"}))
            return
        self.route("/orders", lambda: create_order(body if isinstance(body, dict) else {}))

    def route(self, endpoint: str, call: Callable[[], tuple[int, object]]) -> None:
        try:
            status, payload = call()
        except DependencyError as exc:
            METRICS.dependency_error(exc.dependency, exc.reason)
            status, payload = 503, {"error": str(exc)}
        self.reply(endpoint, status, json.dumps(payload))

    def reply(self, endpoint: str, status: int, text: str, content_type: str = "application/json") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        METRICS.observe(endpoint, self.command, status, time.perf_counter() - self.started)

    def parse_request(self) -> bool:
        self.started = time.perf_counter()
        return super().parse_request()

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main() -> None:
    os.makedirs(SPOOL, exist_ok=True)
    if DNS_ADDRESS:
        import zone_dns  # type: ignore[import-not-found]  # beside this file: the script's folder is on sys.path

        try:
            zone_dns.ZoneServer(DNS_ADDRESS, ZONE, "demo.internal").start()
        except OSError as exc:  # said in one line: `stack up` shows the log of a part that exits
            sys.stderr.write(f"checkout cannot serve the demo zone on {DNS_ADDRESS}:53: {exc.strerror or exc} "
                             "(does another DNS server hold port 53 on every address, or another demo stack this "
                             "address: GAMEDAY_DEMO_DNS_ADDRESS?)\n")
            sys.exit(1)
        sys.stderr.write(f"checkout's zone server answers on {DNS_ADDRESS}:53\n")
    server = ThreadingHTTPServer((HOST, PORT), Handler)
    server.daemon_threads = True
    # PID 1 in its container: without a handler SIGTERM would be ignored and `docker stop` would wait.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    sys.stderr.write(f"checkout listening on {HOST}:{PORT}\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
