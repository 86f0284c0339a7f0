"""The webims command as an operator uses it."""

import json
import subprocess
import sys

import webims

CONFIG = """
[ims]
proxy = "sip:127.0.0.1:5060"
domain = "ims.test"
[services]
auth = true
{extra}
"""


def webims_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "webims.cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60)


def write_config(tmp_path, extra=""):
    path = tmp_path / "webims.toml"
    path.write_text(CONFIG.format(extra=extra))
    return str(path)


def test_plugins_json_lists_auth_enabled_with_its_version():
    result = webims_cli("plugins", "--json", "-c", "config/webims.toml")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["auth"]["enabled"] is True
    assert rows["auth"]["version"] == "0.1.0"
    assert rows["hello"]["enabled"] is False


def test_check_config_accepts_the_shipped_config():
    result = webims_cli("check-config", "-c", "config/webims.toml")
    assert result.returncode == 0, result.stderr
    assert "auth 0.1.0" in result.stdout


def test_check_config_names_plugin_and_versions_when_a_constraint_is_not_met(tmp_path):
    result = webims_cli("check-config", "-c", write_config(tmp_path, 'hello = ">=2.0"'))
    assert result.returncode == 1
    assert "services.hello" in result.stderr
    assert "1.2.0" in result.stderr and ">=2.0" in result.stderr


def test_check_config_prints_every_problem_with_its_key_path(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[gateway]\nlisten = "x"\n[services]\nfax = true\n')
    result = webims_cli("check-config", "-c", str(path))
    assert result.returncode == 1
    for key in ("gateway.listen", "ims.proxy", "ims.domain"):
        assert key in result.stderr


def test_version():
    assert webims_cli("--version").stdout.strip() == f"webims {webims.__version__}"


async def test_an_installed_plugin_appears_in_welcome_only_while_enabled(webims_gateway, webims_browser):
    enabled = await webims_gateway({"auth": True, "hello": ">=1.2,<2"})
    assert "hello" in (await webims_browser(enabled)).welcome["services"]
    disabled = await webims_gateway({"auth": True, "hello": False})
    assert "hello" not in (await webims_browser(disabled)).welcome["services"]
