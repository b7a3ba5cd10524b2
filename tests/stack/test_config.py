"""The stack's configuration, state folder and scenario lookup: no Docker needed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gameday.cli.stack_commands import find_scenario
from gameday.errors import GamedayError
from gameday.stack.config import StackConfig
from gameday.stack.images import base_tag, debian_mirror, host_mirror, toxiproxy_tag
from gameday.stack.parts import part_names, parts, proxies
from gameday.stack.state import (
    PASSWORD_KEYS,
    config_texts,
    ensure_env_file,
    read_env_file,
    secrets_fingerprint,
    stack_env,
)
from gameday.testing import on_free_loopback_address


def test_defaults_are_the_shared_conventions(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": str(tmp_path)})
    assert (config.checkout_port, config.postgres_port, config.redis_port, config.toxiproxy_port) == (18080, 15432, 16379, 18474)
    assert (config.postgres_proxy_port, config.redis_proxy_port) == (25432, 26379)
    assert (config.prometheus_port, config.alertmanager_port, config.webhook_port) == (19090, 19093, 19099)
    assert config.state_dir == tmp_path / ".local" / "state" / "gameday" / "demo"
    assert [config.container_name(p) for p in part_names()] == [
        "gameday-demo-postgres", "gameday-demo-redis", "gameday-demo-toxiproxy", "gameday-demo-checkout",
        "gameday-demo-alertmanager", "gameday-demo-prometheus"]


def test_ports_state_dir_and_stack_name_come_from_the_environment(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path),
                                   "GAMEDAY_DEMO_CHECKOUT_PORT": "28080", "GAMEDAY_DEMO_POSTGRES_PROXY_PORT": "35432",
                                   "GAMEDAY_DEMO_STACK": "second"})
    assert (config.checkout_port, config.postgres_proxy_port) == (28080, 35432)
    assert config.state_dir == tmp_path / "second"
    assert config.container_name("redis") == "gameday-second-redis"
    assert config.volume_name == "gameday-second-pgdata"
    checkout = next(p for p in parts(config) if p.name == "checkout")
    assert checkout.environment["CHECKOUT_PG_PORT"] == "35432"
    assert checkout.labels(config)["gameday.stack"] == "second"
    assert proxies(config)[0]["listen"] == "127.0.0.1:35432"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GAMEDAY_DEMO_REDIS_PORT": "six"}, "GAMEDAY_DEMO_REDIS_PORT='six' is not a port number"),
        ({"GAMEDAY_DEMO_REDIS_PORT": "80"}, "GAMEDAY_DEMO_REDIS_PORT=80 is outside 1024-65535"),
        ({"GAMEDAY_DEMO_REDIS_PORT": "15432"}, "redis_port and postgres_port are both set to port 15432"),
        ({"GAMEDAY_DEMO_STACK": "Not OK"}, "GAMEDAY_DEMO_STACK='Not OK': use 1-31 lower-case letters"),
        ({"GAMEDAY_DEMO_DNS_ADDRESS": "nope"}, "GAMEDAY_DEMO_DNS_ADDRESS='nope' is not an IPv4 address"),
        ({"GAMEDAY_DEMO_DNS_ADDRESS": "10.0.0.1"}, ("GAMEDAY_DEMO_DNS_ADDRESS=10.0.0.1: the zone server answers on "
                                                   "loopback only")),
    ],
)
def test_a_bad_setting_is_one_clear_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(GamedayError) as caught:
        StackConfig.from_env({"HOME": "/nowhere", **environ})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_every_part_binds_and_checks_loopback_only(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": str(tmp_path)})
    for part in parts(config):
        kwargs = part.run_kwargs(config)
        assert kwargs["network_mode"] == "host"
        assert kwargs["restart_policy"] == {"Name": "no"}
        assert {"gameday.stack", "gameday.allowed", "gameday.part"} <= set(kwargs["labels"])
        text = " ".join([*part.command, part.health])
        assert "0.0.0.0" not in text and "localhost" not in text
        if part.url:
            assert part.url.startswith("http://127.0.0.1:")


def test_a_changed_port_changes_the_container_spec(tmp_path: Path) -> None:
    first = {p.name: p.spec_hash() for p in parts(StackConfig.from_env({"HOME": str(tmp_path)}))}
    moved = {p.name: p.spec_hash() for p in parts(StackConfig.from_env({"HOME": str(tmp_path),
                                                                          "GAMEDAY_DEMO_REDIS_PORT": "26380"}))}
    assert first["redis"] != moved["redis"]
    assert first["toxiproxy"] == moved["toxiproxy"]


def test_only_the_cache_has_a_memory_limit_one_memory_pressure_can_put_back(tmp_path: Path) -> None:
    """Swap included (memory-swap = memory): memory_pressure refuses a container without a limit or with unlimited
    swap, as it could not put either back; the others' specs (and so their containers) are left as they were."""
    config = StackConfig(state_dir=tmp_path)
    kwargs = {part.name: part.run_kwargs(config) for part in parts(config)}
    assert (kwargs["redis"]["mem_limit"], kwargs["redis"]["memswap_limit"]) == (256 * 2**20, 256 * 2**20)
    assert [name for name, k in kwargs.items() if "mem_limit" in k] == ["redis"]


def test_the_env_file_is_private_keeps_its_passwords_and_follows_the_ports(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path)})
    assert ensure_env_file(config) is True
    assert stat.S_IMODE(config.env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.env_file.parent.stat().st_mode) == 0o700
    first = read_env_file(config.env_file)
    assert len({first[k] for k in PASSWORD_KEYS}) == len(PASSWORD_KEYS)

    moved = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path),
                                  "GAMEDAY_DEMO_POSTGRES_PORT": "25555"})
    assert ensure_env_file(moved) is False
    second = read_env_file(moved.env_file)
    assert [second[k] for k in PASSWORD_KEYS] == [first[k] for k in PASSWORD_KEYS]
    env = stack_env(moved)
    assert sorted(env) == ["GAMEDAY_DEMO_PG_ADMIN_DSN", "GAMEDAY_DEMO_REDIS_ADMIN_URL"]
    assert env["GAMEDAY_DEMO_PG_ADMIN_DSN"] == (
        f"postgresql://gameday_admin:{first['GAMEDAY_DEMO_PG_ADMIN_PASSWORD']}@127.0.0.1:25555/checkout")


def test_the_secrets_fingerprint_changes_with_the_passwords_and_hides_them(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path)})
    ensure_env_file(config)
    first = secrets_fingerprint(config)
    assert first == secrets_fingerprint(config)
    assert not any(first in v or v in first for v in read_env_file(config.env_file).values() if len(v) > 8)
    config.env_file.unlink()
    ensure_env_file(config)
    assert secrets_fingerprint(config) != first


def test_no_env_file_means_no_admin_urls(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path)})
    assert stack_env(config) == {}


def test_monitoring_configs_are_rendered_with_the_ports(tmp_path: Path) -> None:
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path),
                                   "GAMEDAY_DEMO_WEBHOOK_PORT": "29099", "GAMEDAY_DEMO_CHECKOUT_PORT": "28080"})
    texts = config_texts(config)
    prometheus, alertmanager = texts["prometheus"], texts["alertmanager"]
    assert '"127.0.0.1:28080"' in prometheus and "${" not in prometheus
    assert "evaluation_interval: 5s" in prometheus and "/etc/gameday/prometheus/rules/*.yml" in prometheus
    assert "url: http://127.0.0.1:29099/alerts" in alertmanager
    assert "send_resolved: true" in alertmanager and "group_wait: 1s" in alertmanager
    copied = {path for part in parts(config) for path in part.copies}
    assert copied == {"/etc/gameday/prometheus/prometheus.yml", "/etc/gameday/alertmanager.yml"}


def test_a_moved_stacks_file_names_where_its_alertmanager_posts_and_the_url_it_posts_under(tmp_path: Path) -> None:
    """Two demo stacks on one machine: each run listens where its own Alertmanager posts and takes only its
    webhooks (the audit saw a test stack's run record the default stack's alerts)."""
    from gameday.scenario.stackfile import load_stack_file
    from gameday.stack.stackfile import demo_stack_file

    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path), "GAMEDAY_DEMO_STACK": "two",
                                   "GAMEDAY_DEMO_WEBHOOK_PORT": "29099", "GAMEDAY_DEMO_ALERTMANAGER_PORT": "29093"})
    path = tmp_path / "demo.yaml"
    path.write_text(demo_stack_file(config))
    alertmanager = load_stack_file(path).alertmanager
    assert alertmanager is not None
    assert alertmanager.webhook_url == "http://127.0.0.1:29099/alerts"
    assert f"url: {alertmanager.webhook_url}" in config_texts(config)["alertmanager"]
    part, = (p for p in parts(config) if p.name == "alertmanager")
    assert alertmanager.external_url == "http://127.0.0.1:29093"
    assert f"--web.external-url={alertmanager.external_url}" in part.command


@pytest.mark.parametrize(("checkout_port", "address"), [
    (18080, "127.0.0.153"), (18081, "127.0.0.154"), (28080, "127.0.39.169"), (1024, "127.0.189.249"),
    (65535, "127.0.185.248")])
def test_each_stacks_zone_server_has_an_address_of_its_own_that_moves_with_checkouts_port(
    checkout_port: int, address: str
) -> None:
    """Two stacks never share checkout's port, so never a zone server (one address, shared by SO_REUSEPORT, had
    the kernel spread one stack's lookups over both stacks' servers: a paused copy left half unanswered)."""
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_DEMO_CHECKOUT_PORT": str(checkout_port)})
    assert config.dns_address == address
    checkout, = (p for p in parts(config) if p.name == "checkout")
    assert checkout.environment["CHECKOUT_DNS_ADDRESS"] == address and checkout.nameservers == (address,)
    named = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_DEMO_CHECKOUT_PORT": str(checkout_port),
                                  "GAMEDAY_DEMO_DNS_ADDRESS": "127.0.9.9"})
    assert named.dns_address == "127.0.9.9"


def test_a_second_zone_server_on_one_address_fails_to_start_instead_of_sharing_its_lookups() -> None:
    from tests.faults.test_dns_failure import ZONE  # the demo's own zone_dns module, loaded from its file

    server, address = on_free_loopback_address(lambda a: ZONE.ZoneServer(a, {"x.t.internal": "127.0.0.1"}, "t.internal").start())
    try:
        with pytest.raises(OSError, match="in use"):
            ZONE.ZoneServer(address, {"x.t.internal": "127.0.0.2"}, "t.internal")
        assert ZONE.query(address, "x.t.internal") == "127.0.0.1"
    finally:
        server.close()


def test_nothing_is_mounted_from_the_state_folder(tmp_path: Path) -> None:
    """A container must restart after a kill even when the state folder that made it is gone."""
    config = StackConfig.from_env({"HOME": "/nowhere", "GAMEDAY_STATE_DIR": str(tmp_path)})
    for part in parts(config):
        assert not [src for src in part.volumes if src.startswith(str(tmp_path))], part.name
    assert {p.name for p in parts(config) if p.needs_secrets} == {"postgres", "redis", "checkout"}


APT = Path(__file__).parent / "fixtures" / "apt"


def mirror_of(case: str) -> str | None:
    return host_mirror(APT / case / "sources.list.d", APT / case / "sources.list")


def test_the_mirror_is_the_hosts_deb822_source_for_bookworm() -> None:
    """Not the security archive, not a disabled or deb-src stanza, not a mirror+file: URI; folded fields read."""
    assert mirror_of("deb822") == "http://mirror.invalid/debian"


def test_the_mirror_is_the_hosts_one_line_source_for_bookworm() -> None:
    """Options in brackets (with spaces), comments, deb-src lines and a vendor's suite are read past."""
    assert mirror_of("one-line") == "http://one-line.invalid/debian"


@pytest.mark.parametrize("case", ["third-party", "other-suite", "missing"])
def test_no_debian_source_for_bookworm_is_no_mirror_and_the_error_names_the_option(case: str) -> None:
    assert mirror_of(case) is None
    with pytest.raises(GamedayError) as caught:
        debian_mirror(None, sources_dir=APT / case / "sources.list.d", sources_list=APT / case / "sources.list")
    assert "no Debian mirror for bookworm in this machine's apt sources" in str(caught.value)
    assert "pass one with --mirror URL" in str(caught.value)


def test_the_mirror_option_wins_over_the_hosts_sources_and_must_be_a_url() -> None:
    sources = {"sources_dir": APT / "deb822" / "sources.list.d", "sources_list": APT / "deb822" / "sources.list"}
    assert debian_mirror("http://given.invalid/debian/", **sources) == "http://given.invalid/debian"
    with pytest.raises(GamedayError, match=r"--mirror 'given.invalid': give an http://, https:// or file:/ URL"):
        debian_mirror("given.invalid", **sources)


def test_no_mirror_host_name_is_written_in_the_source() -> None:
    """The mirror is the host's (or the one the option names): gameday guesses none of its own."""
    import re

    source = Path(__file__).resolve().parents[2] / "src"
    names = [f"{path.relative_to(source)}: {m.group(0)}" for path in source.rglob("*.py")
             for m in re.finditer(r"[\w.-]*(debian\.org|ubuntu\.com|debian\.net)[\w./-]*", path.read_text())]
    assert names == []


def test_image_tags_name_the_recipe_and_the_toxiproxy_version() -> None:
    assert base_tag().startswith("gameday/demo-base:bookworm-")
    assert toxiproxy_tag(StackConfig()) == f"gameday/demo-toxiproxy:v2.5.0-{base_tag().split(':')[1]}"


def test_a_demo_scenario_is_found_by_name_or_path(tmp_path: Path) -> None:
    found = find_scenario("checkout-db-down", tmp_path)
    assert found.name == "checkout-db-down.yaml" and found.is_file()
    assert find_scenario(str(found), tmp_path) == found
    with pytest.raises(GamedayError, match="no scenario 'nope'"):
        find_scenario("nope", tmp_path)
