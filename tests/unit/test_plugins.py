"""Plugin discovery and checks: enabled by config, version constraints, settings schemas, route conflicts."""

import pytest
from packaging.specifiers import SpecifierSet

from webims.config import Setting
from webims.errors import ConfigError
from webims.hookspecs import hookimpl
from webims.plugins import installed_plugins, load_services
from webims.service import Capabilities, FeatureTag, Service, SipRoute


class Stub:
    def __init__(self, name="stub", version="1.0", routes=(), schema=None, capabilities=None):
        self.name, self.version, self.routes, self.schema = name, version, routes, schema
        self.capabilities = capabilities

    @hookimpl
    def webims_capabilities(self):
        return self.capabilities

    @hookimpl
    def webims_service(self):
        return Service(name=self.name, version=self.version, messages={"do"})

    @hookimpl
    def webims_sip_routes(self):
        return self.routes

    @hookimpl
    def webims_settings_schema(self):
        return self.schema


def test_builtin_and_example_plugins_are_found_through_entry_points():
    found = installed_plugins()
    assert found["auth"].distribution == "webims-auth"
    assert found["hello"].version == "1.2.0"


def test_only_enabled_services_are_loaded():
    host = load_services({"auth": SpecifierSet()}, {})
    assert set(host.services) == {"auth"}


def test_an_unmet_version_constraint_names_plugin_and_versions():
    with pytest.raises(ConfigError) as error:
        load_services({"hello": SpecifierSet(">=2")}, {})
    message = str(error.value)
    assert "services.hello" in message and "1.2.0" in message and ">=2" in message


def test_a_plugin_that_is_not_installed_is_named_with_what_is_installed():
    with pytest.raises(ConfigError) as error:
        load_services({"fax": SpecifierSet()}, {})
    assert "'fax' is not installed" in str(error.value)
    assert "auth 0.1.0" in str(error.value)


def test_settings_are_checked_against_the_plugin_schema():
    schema = {"codecs": Setting(list, ["opus"]), "ptime": Setting(int, 20)}
    host = load_services({"stub": SpecifierSet()}, {"stub": {"ptime": 30}}, instances={"stub": Stub(schema=schema)})
    assert dict(host.services["stub"].settings) == {"codecs": ["opus"], "ptime": 30}
    with pytest.raises(ConfigError) as error:
        load_services({"stub": SpecifierSet()}, {"stub": {"ptime": "x", "colour": 1}},
                      instances={"stub": Stub(schema=schema)})
    assert "settings.stub.ptime" in str(error.value) and "settings.stub.colour" in str(error.value)


def test_two_plugins_claiming_one_sip_route_is_a_startup_error():
    route = SipRoute("message")
    with pytest.raises(ConfigError, match="claimed by both"):
        load_services({"a": SpecifierSet(), "b": SpecifierSet()}, {},
                      instances={"a": Stub("a", routes=[route]), "b": Stub("b", routes=[route])})


def test_the_most_specific_sip_route_wins():
    host = load_services({"a": SpecifierSet(), "b": SpecifierSet()}, {}, instances={
        "a": Stub("a", routes=[SipRoute("NOTIFY")]), "b": Stub("b", routes=[SipRoute("NOTIFY", event="presence")])})
    assert host.sip_route_owner("NOTIFY", "presence", None) == "b"
    assert host.sip_route_owner("NOTIFY", "reg", None) == "a"
    assert host.sip_route_owner("INVITE", None, None) is None


def test_a_plugin_calling_itself_by_another_name_is_refused():
    with pytest.raises(ConfigError, match="calls itself"):
        load_services({"a": SpecifierSet()}, {}, instances={"a": Stub("b")})


def test_invites_are_routed_by_the_media_their_offer_carries():
    host = load_services({"a": SpecifierSet(), "b": SpecifierSet()}, {}, instances={
        "a": Stub("a", routes=[SipRoute("INVITE", media="audio")]),
        "b": Stub("b", routes=[SipRoute("INVITE", media="message")])})
    assert host.sip_route_owner("INVITE", None, "application/sdp", frozenset({"audio", "video"})) == "a"
    assert host.sip_route_owner("INVITE", None, "application/sdp", frozenset({"message"})) == "b"
    assert host.sip_route_owner("INVITE", None, None, frozenset()) is None


def test_the_services_capabilities_are_put_together_in_config_order_each_once():
    host = load_services({"calls": SpecifierSet(), "chat": SpecifierSet(), "plain": SpecifierSet()}, {}, instances={
        "calls": Stub("calls", routes=[SipRoute("INVITE")], capabilities=Capabilities(
            [FeatureTag("+g.3gpp.icsi-ref", "urn:urn-7:3gpp-service.ims.icsi.mmtel"), FeatureTag("audio")],
            ["application/sdp"])),
        "chat": Stub("chat", routes=[SipRoute("MESSAGE")], capabilities=Capabilities(
            [FeatureTag("+g.oma.sip-im"), FeatureTag("audio")], ["text/plain", "application/sdp"])),
        "plain": Stub("plain")})
    assert host.capabilities == Capabilities(
        [FeatureTag("+g.3gpp.icsi-ref", "urn:urn-7:3gpp-service.ims.icsi.mmtel"), FeatureTag("audio"),
         FeatureTag("+g.oma.sip-im")], ["application/sdp", "text/plain"])
    assert host.methods == ("ACK", "CANCEL", "INVITE", "MESSAGE", "OPTIONS")


def test_capabilities_of_the_wrong_kind_are_a_startup_error_naming_the_plugin():
    with pytest.raises(ConfigError, match="'a': webims_capabilities\\(\\) must return"):
        load_services({"a": SpecifierSet()}, {}, instances={"a": Stub("a", capabilities=["audio"])})
