"""What a runbook command may see of the environment, and how secrets are kept out of what it says.

The rule (docs/runbooks.md, "Secrets"):

* A variable is *secret-looking* when its name contains PASSWORD, PASSWD, PASS (as a word), TOKEN,
  SECRET, DSN, CREDENTIAL, PRIVATE, API_KEY/APIKEY, AUTH, COOKIE, SESSION or ADMIN_URL, or when its value is a
  URL carrying a password (``scheme://user:pass@host``), whatever its name.
* Commands get the caller's environment without any secret-looking variable.
* A runnable block may name the secret variables it needs: ```` ```sh {run env=GAMEDAY_DEMO_PG_ADMIN_DSN} ````.
  Only that block sees only those variables; nothing else does. The grant sits in the runbook, in
  review, next to the command that uses it.
* Output and the command text are redacted before they are recorded: every secret-looking value of
  the environment (granted or not) is replaced by ``***``, and so are the password of any URL and the
  value of any ``SECRET_LOOKING_NAME=value`` (a printed env file).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

REDACTED = "***"

_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|(?:^|_)PASS(?:_|$)|TOKEN|SECRET|DSN|CREDENTIAL|PRIVATE|API_?KEY|AUTH|COOKIE|SESSION|ADMIN_URL",
    re.IGNORECASE,
)
# Tried only where a run of scheme characters begins (the lookbehind): from every letter of a long word it
# was quadratic, and it runs over up to 256 kB of a step's output.
_URL_WITH_PASSWORD = re.compile(
    r"((?<![a-z0-9+.\-])[0-9+.\-]*[a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)([^\s@/'\"]+)(@)", re.IGNORECASE
)
_MIN_SECRET_LENGTH = 4
"""Shorter values are not redacted by value (redacting every "1" in an output would say nothing)."""


def is_secret(name: str, value: str) -> bool:
    return bool(_SECRET_NAME.search(name)) or bool(_URL_WITH_PASSWORD.search(value))


def command_env(env: Mapping[str, str], grants: Iterable[str] = ()) -> dict[str, str]:
    """The environment a command runs with: ``env`` minus secrets, plus the granted secrets that exist."""
    allowed = set(grants)
    return {k: v for k, v in env.items() if k in allowed or not is_secret(k, v)}


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values to redact, longest first (so a DSN is redacted whole before its password part)."""
    values: set[str] = set()
    for name, value in env.items():
        if not is_secret(name, value) or not value:
            continue
        if len(value) >= _MIN_SECRET_LENGTH:
            values.add(value)
        for match in _URL_WITH_PASSWORD.finditer(value):
            if len(match.group(2)) >= _MIN_SECRET_LENGTH:
                values.add(match.group(2))
    return sorted(values, key=len, reverse=True)


_ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=([\"']?)([^\s'\"]+)")


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret value, each URL password and each ``SECRET_NAME=value`` replaced by ``***``."""
    for value in secrets:
        if value in text:
            text = text.replace(value, REDACTED)
    text = _URL_WITH_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    return _ASSIGNMENT.sub(
        lambda m: f"{m.group(1)}={m.group(2)}{REDACTED}" if _SECRET_NAME.search(m.group(1)) else m.group(0),
        text,
    )


_VAR_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def referenced_secret_names(code: str) -> list[str]:
    """Secret-looking variable names a piece of shell refers to (``$NAME`` or ``${NAME}``)."""
    seen: list[str] = []
    for name in _VAR_REFERENCE.findall(code):
        if _SECRET_NAME.search(name) and name not in seen:
            seen.append(name)
    return seen
