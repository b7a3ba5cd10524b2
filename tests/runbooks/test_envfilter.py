"""Which variables a runbook command sees, and what is redacted from what it prints."""

from __future__ import annotations

from gameday.runbooks.envfilter import command_env, is_secret, redact, referenced_secret_names, secret_values

ENV = {
    "PATH": "/usr/bin",
    "DOCKER_HOST": "unix:///var/run/docker.sock",
    "GAMEDAY_DEMO_PG_ADMIN_DSN": "postgresql://gameday_admin:s3cretpw@127.0.0.1:15432/checkout",
    "GAMEDAY_DEMO_REDIS_ADMIN_URL": "redis://admin:r3dispw@127.0.0.1:16379/0",
    "GITHUB_TOKEN": "ghp_abcdef",
    "CACHE_URL": "redis://user:hidden99@127.0.0.1:1/0",
    "PGPASS": "x",
    "COMPASS_HEADING": "north",
}


def test_secret_looking_names_and_credential_urls() -> None:
    secret = {k for k, v in ENV.items() if is_secret(k, v)}
    assert secret == {"GAMEDAY_DEMO_PG_ADMIN_DSN", "GAMEDAY_DEMO_REDIS_ADMIN_URL", "GITHUB_TOKEN", "CACHE_URL"}
    assert is_secret("PG_PASS", "x") and is_secret("DB_PASSWORD", "") and not is_secret("PASSAGE", "x")


def test_commands_get_no_secret_unless_granted_by_name() -> None:
    assert set(command_env(ENV)) == {"PATH", "DOCKER_HOST", "PGPASS", "COMPASS_HEADING"}
    granted = command_env(ENV, ["GAMEDAY_DEMO_PG_ADMIN_DSN", "NOT_SET"])
    assert granted["GAMEDAY_DEMO_PG_ADMIN_DSN"] == ENV["GAMEDAY_DEMO_PG_ADMIN_DSN"]
    assert "GITHUB_TOKEN" not in granted and "NOT_SET" not in granted


def test_redaction_of_values_urls_and_assignments() -> None:
    secrets = secret_values(ENV)
    text = ("dsn postgresql://gameday_admin:s3cretpw@127.0.0.1:15432/checkout\n"
            "pw s3cretpw token ghp_abcdef other postgres://u:neverseen@h/db\n"
            "GAMEDAY_DEMO_PG_ADMIN_PASSWORD=fromafile API_KEY='k-123' PORT=15432")
    out = redact(text, secrets)
    for leaked in ("s3cretpw", "ghp_abcdef", "neverseen", "fromafile", "k-123"):
        assert leaked not in out
    assert "postgres://u:***@h/db" in out and "GAMEDAY_DEMO_PG_ADMIN_PASSWORD=***" in out and "PORT=15432" in out


def test_secret_references_in_shell() -> None:
    code = 'psql "$GAMEDAY_DEMO_PG_ADMIN_DSN" -c x; echo ${API_TOKEN:-}; echo $HOME $PATH'
    assert referenced_secret_names(code) == ["GAMEDAY_DEMO_PG_ADMIN_DSN", "API_TOKEN"]
