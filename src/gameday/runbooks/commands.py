"""Reading shell in runbooks without running it: which containers and hosts a command names,
and whether a line of prose is really a command someone forgot to fence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEMO_CONTAINERS: tuple[str, ...] = (
    "gameday-demo-checkout",
    "gameday-demo-postgres",
    "gameday-demo-redis",
    "gameday-demo-toxiproxy",
    "gameday-demo-prometheus",
    "gameday-demo-alertmanager",
)
"""The demo stack's containers (the shared conventions); more are passed in with ``--container``."""

LOCAL_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")

COMMAND_WORDS = frozenset(
    [
        "docker", "podman", "kubectl", "helm", "curl", "wget", "psql", "pg_isready", "pg_ctl", "pg_ctlcluster",
        "redis-cli", "systemctl", "journalctl", "sudo", "ssh", "scp", "rm", "mv", "cp", "ls", "cat", "grep",
        "egrep", "tail", "df", "du", "ps", "iptables", "nc", "dig", "nslookup", "ping", "aws", "gcloud", "az",
        "terraform", "ansible", "git", "python", "python3", "pip", "chmod", "chown", "mkdir", "touch", "echo",
        "export", "tar", "gzip", "openssl", "jq", "gameday", "toxiproxy-cli", "mysql", "mongo", "supervisorctl",
        "nginx", "apt-get", "apt", "yum", "dnf", "fallocate", "truncate", "dd", "mount", "umount", "lsof",
        "killall", "pkill", "ss", "netstat", "vmstat", "uptime", "promtool", "amtool", "sed", "awk", "xargs",
        "env"
    ]
)
"""First words that make a line a shell command (English words like 'find' or 'kill' are left out)."""

# docker verbs whose every positional argument is a container, and those where only the first is.
_ALL_POSITIONAL = frozenset(["start", "stop", "restart", "kill", "pause", "unpause", "rm", "wait", "stats", "update"])
_FIRST_POSITIONAL = frozenset(["exec", "logs", "top", "port", "attach", "diff", "export", "commit", "rename", "inspect"])
_VALUE_OPTIONS = frozenset(
    [
        "-t", "--time", "--timeout", "-s", "--signal", "--tail", "-n", "--since", "--until", "-e", "--env",
        "--env-file", "-u", "--user", "-w", "--workdir", "-f", "--format", "--detach-keys", "--type", "-H",
        "--host", "--context", "-c", "--config", "--log-level", "--cpus", "--memory", "-m", "--restart"
    ]
)
_DOCKER_GLOBAL_VALUE = frozenset(["-H", "--host", "--context", "-c", "--config", "-l", "--log-level"])
_SEPARATORS = frozenset(";|&()") | {"&&", "||", ";;", "|&", "$("}
# A scheme is tried only where a run of scheme characters begins (the lookbehind), never again inside it:
# with a plain \b, a 240 kB line of ``a.a.a...`` was rescanned from every letter (quadratic; over a minute).
_URL = re.compile(
    r"(?<![a-z0-9+.\-])[0-9+.\-]*[a-z][a-z0-9+.\-]*://(?:[^\s/@'\"]*@)?(\[[0-9a-f:]+\]|[^\s/:'\"?#@]+)", re.IGNORECASE
)
_HOST_OPTION_TOOLS = frozenset({"psql", "pg_isready", "redis-cli", "mysql", "ssh"})


@dataclass(frozen=True)
class Reference:
    """A name a command refers to, with the 0-based index of the logical line it is on."""

    name: str
    line_offset: int


def logical_lines(code: str) -> list[tuple[int, str]]:
    """Lines joined at trailing backslashes, each with the offset of its first physical line."""
    out: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for offset, line in enumerate(code.splitlines()):
        if not buffer:
            start = offset
        if line.rstrip().endswith("\\"):
            buffer.append(line.rstrip()[:-1])
            continue
        buffer.append(line)
        out.append((start, " ".join(buffer)))
        buffer = []
    if buffer:
        out.append((start, " ".join(buffer)))
    return out


def simple_commands(line: str) -> list[list[str]]:
    """Split a shell line into simple commands' words; unbalanced quotes fall back to whitespace."""
    line = line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""
    try:
        words = shell_words(line)
    except ValueError:
        words = line.split()
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS or set(word) <= set(";&|()"):
            commands.append([])
        elif word.startswith("$("):
            commands.append([word[2:]] if len(word) > 2 else [])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


_PUNCTUATION = frozenset(";&|()")
_BLANKS = frozenset(" \t\r\n")


def shell_words(line: str) -> list[str]:
    """The words ``shlex`` gives in POSIX mode, splitting at blanks and at runs of ``;&|()``.

    Written out because shlex grows each word one character at a time (``token += c``), which is quadratic:
    one 240 kB word took seconds. Same rules: quotes, backslash escapes, ``#`` starting a comment; an
    unclosed quote or a trailing backslash is a ValueError, as in shlex.
    """
    words: list[str] = []
    chars: list[str] = []
    state = " "  # " " between words, "a" in a word, "c" in punctuation, a quote character inside quotes
    quoted = False
    i, n = 0, len(line)

    def emit() -> None:
        nonlocal quoted
        if chars or quoted:
            words.append("".join(chars))
        chars.clear()
        quoted = False

    while i < n:
        c = line[i]
        if state in "'\"":
            quoted = True
            if c == state:
                state = "a"
            elif c == "\\" and state == '"':
                if i + 1 >= n:
                    raise ValueError("No escaped character")
                nxt = line[i + 1]
                if nxt not in ('"', "\\"):
                    chars.append(c)
                chars.append(nxt)
                i += 1
            else:
                chars.append(c)
        elif c == "#" or (c in _BLANKS):
            emit()
            state = " "
            if c == "#":
                i = line.find("\n", i)  # the rest of the line is a comment
                if i < 0:
                    break
        elif state == "c":
            if c in _PUNCTUATION:
                chars.append(c)
            else:
                emit()
                state = " "
                continue  # read c again, between words
        elif c == "\\":
            if i + 1 >= n:
                raise ValueError("No escaped character")
            chars.append(line[i + 1])
            state = "a"
            i += 1
        elif c in "'\"":
            state = c
        elif c in _PUNCTUATION:
            if state == "a":
                emit()
            chars.append(c)
            state = "c"
        else:
            chars.append(c)
            state = "a"
        i += 1
    if state in "'\"":
        raise ValueError("No closing quotation")
    emit()
    return words


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_PREFIX_WORDS = frozenset({"sudo", "time", "exec", "command", "!"})


def _strip_prefix(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and (_ASSIGNMENT.match(words[i]) or words[i] in _PREFIX_WORDS):
        i += 1
    return words[i:]


def docker_containers(code: str) -> list[Reference]:
    """Container names that docker commands in ``code`` act on (variables and ids are skipped)."""
    refs: list[Reference] = []
    for offset, line in logical_lines(code):
        for words in simple_commands(line):
            words = _strip_prefix(words)
            if not words or words[0].rsplit("/", 1)[-1] not in ("docker", "podman"):
                continue
            refs.extend(Reference(name, offset) for name in _docker_targets(words[1:]))
    return refs


def _docker_targets(args: list[str]) -> list[str]:
    i = 0
    while i < len(args) and args[i].startswith("-"):  # global options
        i += 2 if args[i] in _DOCKER_GLOBAL_VALUE else 1
    if i >= len(args):
        return []
    verb = args[i]
    i += 1
    if verb == "container" and i < len(args):
        verb = args[i]
        i += 1
    if verb == "cp":
        sides = [a.split(":", 1)[0] for a in args[i:] if ":" in a and not a.startswith("-")]
        return [name for name in sides if "/" not in name]
    if verb not in _ALL_POSITIONAL and verb not in _FIRST_POSITIONAL:
        return []
    positional: list[str] = []
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positional.extend(args[i + 1:])
            break
        if arg.startswith("-"):
            i += 2 if (arg in _VALUE_OPTIONS and "=" not in arg) else 1
            continue
        positional.append(arg)
        if verb in _FIRST_POSITIONAL:
            break
        i += 1
    return [p for p in positional if _is_plain_name(p, verb)]


def _is_plain_name(text: str, verb: str) -> bool:
    if not text or "$" in text or "`" in text or "{" in text or "*" in text:
        return False
    if re.fullmatch(r"[0-9a-f]{12,64}", text):  # a container id, not a name
        return False
    if verb == "inspect" and (":" in text or "/" in text):  # an image, not a container
        return False
    return bool(re.fullmatch(r"/?[A-Za-z0-9][A-Za-z0-9_.\-]*", text))


def hosts(code: str) -> list[Reference]:
    """Hosts a piece of shell talks to: URL hosts and ``-h/--host`` of database clients."""
    refs: list[Reference] = []
    for offset, line in logical_lines(code):
        for match in _URL.finditer(line):
            host = match.group(1)
            if "$" not in host and "{" not in host:
                refs.append(Reference(host.lower(), offset))
        for words in simple_commands(line):
            words = _strip_prefix(words)
            if not words or words[0].rsplit("/", 1)[-1] not in _HOST_OPTION_TOOLS:
                continue
            for j, word in enumerate(words[:-1]):
                if word in ("-h", "--host"):
                    value = words[j + 1]
                    if "$" not in value and "/" not in value:
                        refs.append(Reference(value.lower(), offset))
    return refs


def looks_like_command(text: str) -> bool:
    """Prose that is really a command: ``$ cmd``, or a known tool's name followed by arguments."""
    stripped = text.strip()
    if stripped.startswith("$ ") and len(stripped) > 2:
        return True
    words = stripped.split()
    if len(words) < 2:
        return False
    first = words[0]
    if first not in COMMAND_WORDS:
        return False
    # "echo" or "cat" starting an English sentence ends with a full stop and has no shell-ish word.
    shellish = any(w.startswith(("-", "$")) or "/" in w or "=" in w or ":" in w for w in words[1:])
    return shellish or not stripped.endswith((".", "!", "?"))


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def inline_code(text: str) -> list[str]:
    return _CODE_SPAN.findall(text)
