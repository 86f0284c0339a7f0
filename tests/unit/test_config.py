"""Operator config: a valid file loads; every problem is reported with its key path."""

import pytest

from webims.config import load_config, parse_config
from webims.errors import ConfigError

BASE = {"ims": {"proxy": "sip:127.0.0.1:5060", "domain": "ims.test"}}


def problems_of(document):
    config, problems = parse_config(document)
    return {problem.key: problem.message for problem in problems}


def test_the_shipped_config_is_valid():
    config = load_config("config/webims.toml")
    assert "auth" in config.services
    assert config.gateway.port == 8080
    assert config.ims.realm == "ims.test"  # realm defaults to the domain


def test_defaults_fill_everything_not_given():
    config, problems = parse_config(BASE)
    assert problems == []
    assert config.gateway.max_frame_bytes == 65536
    assert config.gateway.host == "127.0.0.1"


def test_every_problem_is_reported_at_once_with_its_key_path():
    found = problems_of({"gateway": {"listen": "nowhere", "max_frame_bytes": "big", "colour": "red"},
                         "ims": {"proxy": "127.0.0.1"}, "extra": {}})
    assert "gateway.listen" in found and "HOST:PORT" in found["gateway.listen"]
    assert "whole number" in found["gateway.max_frame_bytes"]
    assert "unknown key" in found["gateway.colour"]
    assert "sip:" in found["ims.proxy"]
    assert "required" in found["ims.domain"]
    assert "unknown section" in found["extra"]


def test_a_boolean_is_not_accepted_as_a_number():
    found = problems_of({**BASE, "gateway": {"max_frame_bytes": True}})
    assert "true/false" in found["gateway.max_frame_bytes"]


def test_plain_http_is_refused_off_loopback():
    found = problems_of({**BASE, "gateway": {"listen": "0.0.0.0:443"}})
    assert "[gateway.tls]" in found["gateway.listen"]


def test_tls_files_must_exist(tmp_path):
    found = problems_of({**BASE, "gateway": {"listen": "0.0.0.0:443", "tls": {"cert": str(tmp_path / "c.pem"),
                                                                              "key": str(tmp_path / "k.pem")}}})
    assert "no such file" in found["gateway.tls.cert"]


def test_service_constraints_are_pep440_specifiers():
    config, problems = parse_config({**BASE, "services": {"voice": ">=1.0,<2", "im": True, "video": False}})
    assert problems == []
    assert "1.5" in config.services["voice"] and "2.0" not in config.services["voice"]
    assert "video" not in config.services  # `false` keeps the line but the service off
    found = problems_of({**BASE, "services": {"voice": "about one"}})
    assert "not a version constraint" in found["services.voice"]


def test_settings_for_a_service_that_is_not_enabled_are_a_problem():
    found = problems_of({**BASE, "services": {"auth": True}, "settings": {"voice": {"codecs": []}}})
    assert "does not enable" in found["settings.voice"]


def test_a_missing_or_broken_file_says_so(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[gateway\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)
