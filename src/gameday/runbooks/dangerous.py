"""Shell a drill must never run: commands that destroy the machine or run code fetched from the network.

A runbook's ``{run}`` blocks are run by drills on the harness's machine, as whoever runs gameday. The
linter reports each of these with its line (docs/runbooks.md, rule ``dangerous-command``):

* deleting, moving or re-owning ``/``, ``~``, the working folder or a top-level system folder (``rm -rf /``,
  ``rm -rf "$DIR/"*`` with ``DIR`` unset, ``--no-preserve-root``, ``find / -delete``, ``chmod -R 777 /``);
* formatting or overwriting a disk (``mkfs``, ``dd of=/dev/sda``, ``> /dev/sda``, ``wipefs``, ``shred /dev/...``);
* stopping the machine (``shutdown``, ``reboot``, ``init 0``), killing every process (``kill -9 -1``), fork bombs;
* running what was downloaded (``curl ... | sh``, ``sh -c "$(curl ...)"``, ``eval "$(wget ...)"``,
  ``bash <(curl ...)``, ``$(curl ...)`` as a command).

It reads the shell as written, without running it: a variable or an alias can still hide anything, so this
catches mistakes and copy-pasted one-liners, not an attacker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gameday.runbooks.commands import logical_lines, shell_words

_MAX_DEPTH = 3
"""``sh -c "sh -c '...'"`` and ``$( $( ) )`` are followed this deep."""

_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_SHELLS = frozenset({"sh", "bash", "zsh", "ksh", "dash", "ash", "fish", "mksh"})
_INTERPRETERS = frozenset({"python", "python2", "python3", "perl", "ruby", "node", "php", "lua"})
_SAFE_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/random",
                           "/dev/urandom", "/dev/full"})
_SYSTEM_FOLDERS = ("bin|boot|dev|etc|home|lib|lib32|lib64|libx32|media|mnt|opt|proc|root|run|sbin|snap|srv|sys|"
                   "usr|var")
_ROOTISH = re.compile(rf"/+(?:\.{{1,2}}/*)?\*?|/+(?:{_SYSTEM_FOLDERS})/*\*?|~/*\*?|\$\{{?HOME\}}?/*\*?|\.{{1,2}}/*\*?|\*")
_UNSET_PREFIX = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/+\*?")
_DEVICE_REDIRECT = re.compile(r">\s*/dev/(?:sd|hd|vd|xvd|nvme|mmcblk|disk|mapper/|md|dm-|loop|root)")
_FORK_DEFINITION = re.compile(r"(?<![\w:.])([A-Za-z_:.][\w:.]*)\(\)\{")  # from a name's start only: linear
_CODE_FROM_DOWNLOAD = re.compile(
    r"(?:(?:^|[;&|(])\s*|\b(?:eval|source|exec)\s+|(?:^|[;&|(\s])\.\s+"
    r"|\b(?:sh|bash|zsh|ksh|dash|ash|python[23]?|perl|ruby|node)(?:\s+-\S+)*\s+)"
    r"[\"']?(?:\$\(|`|<\()\s*(?:sudo\s+)?(?:curl|wget|fetch)\b"
)
"""A download's output used as code: as the command, or given to eval, source, ``.``, or a shell or interpreter
(``sh -c "$(curl ...)"``, ``bash <(curl ...)``); ``for x in $(curl ...)`` and ``x=$(curl ...)`` are data."""
_LIMIT = 20_000
"""A logical line longer than this is read only this far (a blob, not a command someone typed)."""


@dataclass(frozen=True)
class Danger:
    """A dangerous command, at ``line_offset`` (0-based) in the code it was found in."""

    line_offset: int
    message: str


def dangerous_commands(code: str) -> list[Danger]:
    """Every dangerous command in a piece of shell, with the line it starts on."""
    found: list[Danger] = []
    for offset, line in logical_lines(code):
        for message in dict.fromkeys(_line_dangers(line[:_LIMIT], 0)):  # each message once per line
            found.append(Danger(offset, message))
    return found


def _line_dangers(line: str, depth: int) -> list[str]:
    if depth > _MAX_DEPTH or not line.strip():
        return []
    out: list[str] = []
    code = _mask_single_quoted(line)  # '$(curl x | sh)' in single quotes is text, not a command
    if _fork_bomb(code):
        out.append("a fork bomb: it starts processes until the machine stops answering")
    if _DEVICE_REDIRECT.search(code):
        out.append("writes straight to a disk device ('> /dev/...')")
    if _CODE_FROM_DOWNLOAD.search(code):
        out.append("runs code downloaded from the network (a download used as a command, or given to eval, "
                   "source or a shell)")
    for body in _substitutions(code):
        out.extend(_line_dangers(body, depth + 1))
    try:
        words = shell_words(line.split(" #", 1)[0])
    except ValueError:
        words = line.split()
    for pipeline in _pipelines(words):
        out.extend(_pipeline_dangers(pipeline, depth))
    return out


def _mask_single_quoted(line: str) -> str:
    """``line`` with what is inside single quotes (outside double quotes) blanked, so its length stays."""
    out: list[str] = []
    quote = ""
    escaped = False
    for char in line:
        if quote == "'":
            if char == "'":
                quote = ""
                out.append(char)
            else:
                out.append(" ")
            continue
        out.append(char)
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quote = "" if quote == '"' else '"'
        elif char == "'" and not quote:
            quote = "'"
    return "".join(out)


def _fork_bomb(line: str) -> bool:
    """``name(){ name|name& };name``: a function that starts itself twice, in the background."""
    squeezed = "".join(line.split())
    for match in _FORK_DEFINITION.finditer(squeezed):
        name = re.escape(match.group(1))
        body = squeezed[match.end():match.end() + 200]
        if re.search(rf"(?:^|[;{{(]){name}\|{name}&", body):
            return True
    return False


def _substitutions(line: str) -> list[str]:
    """The bodies of ``$( ... )`` and `` `...` `` in a line (nested ones are found by recursion)."""
    bodies: list[str] = []
    i = line.find("$(")
    while i >= 0 and len(bodies) < 50:
        depth, j = 0, i + 1
        while j < len(line):
            if line[j] == "(":
                depth += 1
            elif line[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        bodies.append(line[i + 2:j])
        i = line.find("$(", j)
    bodies.extend(re.findall(r"`([^`]*)`", line)[:50])
    return bodies


def _pipelines(words: list[str]) -> list[list[list[str]]]:
    """Words grouped into pipelines of simple commands: ``a | b && c`` -> [[a, b], [c]]."""
    pipelines: list[list[list[str]]] = [[[]]]
    for word in words:
        if word and set(word) <= set(";&|()"):
            if word in ("|", "|&"):
                pipelines[-1].append([])
            else:
                pipelines.append([[]])
        else:
            pipelines[-1][-1].append(word)
    return [[c for c in p if c] for p in pipelines if any(p)]


def _pipeline_dangers(pipeline: list[list[str]], depth: int) -> list[str]:
    out: list[str] = []
    downloaded = False
    for raw in pipeline:
        words = _strip_prefix(raw)
        if not words:
            continue
        head = words[0].rsplit("/", 1)[-1]
        shown = " ".join(raw)
        shown = shown if len(shown) <= 80 else shown[:77] + "..."
        if downloaded and _reads_program_from_stdin(head, words[1:]):
            piped = " | ".join(" ".join(c) for c in pipeline)
            piped = piped if len(piped) <= 80 else piped[:77] + "..."
            out.append(f"pipes a download into {head}, which runs it: code from the network ({piped})")
        downloaded = downloaded or head in _DOWNLOADERS
        out.extend(f"{reason} ({shown})" for reason in _command_dangers(head, words[1:], depth))
    return out


def _reads_program_from_stdin(head: str, args: list[str]) -> bool:
    if head not in _SHELLS and head not in _INTERPRETERS:
        return False
    if any(a in ("-c", "-e", "-m") for a in args):
        return False  # the program is in the arguments; stdin is data
    positional = [a for a in args if a != "-" and not a.startswith("-")]
    return not positional or (head in _SHELLS and "-s" in args)


_PREFIX_WITH_VALUE = {"sudo": {"-u", "-g", "-C", "-h", "-p", "-U", "-r", "-t"}, "doas": {"-u", "-C"},
                      "nice": {"-n"}, "env": {"-u", "-C", "-S"}, "timeout": {"-s", "-k"}, "ionice": {"-c", "-n"},
                      "stdbuf": set(), "nohup": set(), "time": set(), "exec": set(), "command": set(),
                      "builtin": set(), "!": set()}


def _strip_prefix(words: list[str]) -> list[str]:
    """The command itself: without ``VAR=x``, ``sudo -u u``, ``env``, ``nohup``, ``nice -n 5``, ``timeout 10`` ..."""
    i = 0
    while i < len(words):
        word = words[i]
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
            i += 1
            continue
        name = word.rsplit("/", 1)[-1]
        if name not in _PREFIX_WITH_VALUE:
            break
        i += 1
        while i < len(words) and words[i].startswith("-") and words[i] != "-":
            i += 2 if words[i] in _PREFIX_WITH_VALUE[name] else 1
        if name == "timeout" and i < len(words):
            i += 1  # the duration
    return words[i:]


def _rootish(target: str) -> str | None:
    """What deleting ``target`` would take, when that is a disaster; None otherwise."""
    if _ROOTISH.fullmatch(target):
        if target.startswith("/") and target.strip("/*.") == "":
            return "the whole filesystem"
        if target.startswith(("~", "$HOME", "${HOME}")):
            return "the home folder"
        if target.startswith(".") or target == "*":
            return "the working folder (the runbook's own folder)"
        return f"the system folder {target.rstrip('*').rstrip('/') or '/'}"
    if _UNSET_PREFIX.fullmatch(target):
        name = re.sub(r"[${}]", "", target.split("/", 1)[0])
        return f"the whole filesystem when ${name} is empty or unset (write ${{{name}:?}})"
    return None


def _short_flags(args: list[str]) -> str:
    return "".join(a[1:] for a in args if a.startswith("-") and not a.startswith("--"))


def _positional(args: list[str]) -> list[str]:
    if "--" in args:
        cut = args.index("--")
        return [a for a in args[:cut] if not a.startswith("-")] + args[cut + 1:]
    return [a for a in args if not a.startswith("-")]


def _command_dangers(head: str, args: list[str], depth: int) -> list[str]:
    out: list[str] = []
    if head in _SHELLS | _INTERPRETERS and "-c" in args:
        index = args.index("-c")
        if index + 1 < len(args):
            out.extend(_line_dangers(args[index + 1], depth + 1))
    if head == "eval":
        out.extend(_line_dangers(" ".join(args), depth + 1))
    if head in ("rm", "mv", "chmod", "chown", "chgrp"):
        recursive = "--recursive" in args or bool(re.search("[rR]", _short_flags(args)))
        if "--no-preserve-root" in args:
            out.append(f"--no-preserve-root: nothing stops {head} at /")
        if head == "mv" or recursive:
            targets = _positional(args)
            if head in ("chmod", "chown", "chgrp") and targets:
                targets = targets[1:]  # the mode or owner
            if head == "mv" and targets:
                targets = targets[:-1]  # what is moved, not where to
            for target in targets:
                what = _rootish(target)
                if what is not None:
                    verb = {"rm": "deletes", "mv": "moves away", "chmod": "changes the permissions of",
                            "chown": "changes the owner of", "chgrp": "changes the group of"}[head]
                    out.append(f"{verb} {what}")
                    break
    elif head == "find":
        paths = []
        for arg in args:
            if arg.startswith(("-", "(", "!")):
                break
            paths.append(arg)
        deletes = "-delete" in args or any(a in ("-exec", "-execdir") and i + 1 < len(args) and
                                           args[i + 1].rsplit("/", 1)[-1] in ("rm", "shred")
                                           for i, a in enumerate(args))
        taken = next((w for w in map(_rootish, paths) if w is not None), None)
        if deletes and taken is not None:
            out.append(f"deletes {taken}")
    elif head.startswith("mkfs") or head in ("mke2fs", "mkswap", "wipefs", "blkdiscard", "sfdisk", "fdisk",
                                               "parted", "sgdisk", "shred"):
        if any(a.startswith("/dev/") and a not in _SAFE_DEVICES for a in args):
            out.append("formats, wipes or repartitions a disk device")
    elif head == "dd":
        device = next((a[3:] for a in args if a.startswith("of=")), None)
        if device is not None and device.startswith("/dev/") and device not in _SAFE_DEVICES:
            out.append(f"overwrites the device {device}")
    elif head in ("shutdown", "reboot", "halt", "poweroff") or (
            head in ("init", "telinit") and args[:1] in (["0"], ["6"])) or (
            head == "systemctl" and any(a in ("poweroff", "reboot", "halt", "kexec", "emergency", "rescue")
                                        for a in args)):
        out.append("stops or restarts the machine the drill runs on")
    elif head in ("kill", "pkill") and args and args[-1] == "-1" and (len(args) >= 2):
        out.append("signals every process the user may signal")
    return out
