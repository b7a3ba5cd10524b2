"""A DNS server for one small zone, standard library only: the demo stack's stand-in for a company's DNS.

checkout runs it in a thread on port 53 of its stack's address (127.0.0.153 for the default stack; its
resolv.conf asks it) and reaches PostgreSQL by the name ``postgres.demo.internal``. A names in the zone are
answered (TTL 0, so nothing caches them), other types get an empty answer, other names in the zone NXDOMAIN,
and names outside it REFUSED: it never asks anyone else, so no query leaves 127.0.0.0/8. UDP and TCP. No
SO_REUSEPORT: each demo stack has an address of its own, and a second server on one (a shared address, where
the kernel would spread one stack's lookups over both servers) fails to start instead. Also used by gameday's
own tests.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading

A, AAAA = 1, 28
NOERROR, NXDOMAIN, REFUSED, FORMERR = 0, 3, 5, 1


def answer(query: bytes, zone: dict[str, str], suffix: str) -> bytes | None:
    """The reply to one query message, or None for something that is not a query."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    labels, at = [], 12
    while at < len(query) and query[at]:
        size = query[at]
        if size & 0xC0:
            return None
        labels.append(query[at + 1:at + 1 + size].decode("ascii", errors="replace"))
        at += 1 + size
    if at + 5 > len(query):
        return None
    question = query[12:at + 5]
    qtype = struct.unpack("!H", query[at + 1:at + 3])[0]
    name = ".".join(labels).lower()
    address = zone.get(name)
    records = b""
    if address is not None:
        rcode = NOERROR
        if qtype == A:
            records = b"\xc0\x0c" + struct.pack("!HHIH", A, 1, 0, 4) + socket.inet_aton(address)
    else:
        rcode = NXDOMAIN if name == suffix or name.endswith("." + suffix) else REFUSED
    header = struct.pack("!HHHHHH", ident, 0x8400 | (flags & 0x0100) | rcode, 1, 1 if records else 0, 0, 0)
    return header + question + records


class _Udp(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _Tcp(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True  # a restarted server rebinds while its old connections wait out TIME_WAIT


class ZoneServer:
    """Answers ``zone`` (name -> IPv4 address, every name under ``suffix``) on ``host``:``port``, UDP and TCP."""

    def __init__(self, host: str, zone: dict[str, str], suffix: str, port: int = 53) -> None:
        self.zone = {k.lower().rstrip("."): v for k, v in zone.items()}
        self.suffix = suffix.lower().rstrip(".")
        self.queries = 0
        server = self

        class UdpHandler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                server.queries += 1
                reply = answer(data, server.zone, server.suffix)
                if reply is not None:
                    sock.sendto(reply, self.client_address)

        class TcpHandler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                size = self.rfile.read(2)
                if len(size) == 2:
                    server.queries += 1
                    reply = answer(self.rfile.read(struct.unpack("!H", size)[0]), server.zone, server.suffix)
                    if reply is not None:
                        self.wfile.write(struct.pack("!H", len(reply)) + reply)

        self._servers: list[socketserver.BaseServer] = [_Udp((host, port), UdpHandler), _Tcp((host, port), TcpHandler)]
        self._threads: list[threading.Thread] = []

    def start(self) -> ZoneServer:
        for s in self._servers:
            thread = threading.Thread(target=s.serve_forever, name="zone-dns", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        for s in self._servers:
            s.shutdown()
            s.server_close()
        for thread in self._threads:
            thread.join(timeout=5)


def query(host: str, name: str, *, port: int = 53, timeout: float = 2.0) -> str | None:
    """Ask ``host`` for ``name``'s A record over UDP, as a resolver would; the address, or None if there is none."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split("."))
    message = struct.pack("!HHHHHH", 0x4744, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", A, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(message, (host, port))
        reply = sock.recv(512)
    if len(reply) < 12 or struct.unpack("!H", reply[6:8])[0] == 0:
        return None
    return socket.inet_ntoa(reply[-4:])
