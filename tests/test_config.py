from __future__ import annotations

from pathlib import Path

import pytest

from simulator.config import ConfigError, load_settings


def test_defaults_work_with_no_configuration(tmp_path: Path) -> None:
    s = load_settings({"sim_state_dir": tmp_path}, environ={})
    assert (s.sim_host, s.sim_port, s.polyai_project_id) == ("127.0.0.1", 8080, "PROJECT-local")
    assert s.sunco_url == "http://127.0.0.1:8080/sc"
    assert s.relay_url + s.events_webhook_path == (
        "http://127.0.0.1:8080/handoff/webhooks/zendesk/PLATFORM/PROJECT-local/live/events"
    )
    assert len(s.zendesk_app_id) == 24 and s.zendesk_key_id.startswith("app_")


def test_generated_secrets_survive_a_restart(tmp_path: Path) -> None:
    first = load_settings({}, environ={"SIM_STATE_DIR": str(tmp_path)})
    second = load_settings({}, environ={"SIM_STATE_DIR": str(tmp_path)})
    assert first.zendesk_shared_secret == second.zendesk_shared_secret
    assert first.zendesk_app_id == second.zendesk_app_id
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_environment_wins_over_file_and_generated(tmp_path: Path) -> None:
    toml = tmp_path / "simulator.toml"
    toml.write_text('zendesk_subdomain = "from-file"\npolyai_project_id = "PROJECT-file"\n')
    s = load_settings(
        {},
        environ={
            "ZENDESK_SUBDOMAIN": "acme",
            "ZENDESK_SHARED_SECRET": "s3cret-from-env",
            "SIM_STATE_DIR": str(tmp_path),
        },
        config_file=toml,
    )
    assert s.zendesk_subdomain == "acme"
    assert s.polyai_project_id == "PROJECT-file"
    assert s.zendesk_shared_secret.get_secret_value() == "s3cret-from-env"
    assert "s3cret-from-env" not in repr(s)


@pytest.mark.parametrize(
    ("environ", "needle"),
    [
        ({"SIM_PORT": "70000"}, "SIM_PORT"),
        ({"SIM_PORT": "eighty"}, "SIM_PORT"),
        ({"POLYAI_PROJECT_ID": "bad id!"}, "POLYAI_PROJECT_ID"),
        ({"SUNCO_BASE_URL": "ftp://x"}, "SUNCO_BASE_URL"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, environ: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ={"SIM_STATE_DIR": str(tmp_path), **environ})
    message = str(info.value)
    assert message.startswith(needle + ":") and "\n" not in message


def test_unreadable_or_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="simulator.toml: cannot read"):
        load_settings({}, environ={}, config_file=tmp_path / "missing.toml")
    bad = tmp_path / "simulator.toml"
    bad.write_text("this is = = not toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({}, environ={}, config_file=bad)
    bad.write_text("no_such_setting = 1\n")
    with pytest.raises(ConfigError, match="NO_SUCH_SETTING: unknown setting"):
        load_settings({}, environ={}, config_file=bad)
