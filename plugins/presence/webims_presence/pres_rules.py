"""Her decisions on watchers as a pres-rules document (RFC 5025 on common policy, RFC 4745). Sans-IO.

webims writes two rules: ``webims-allow`` (sub-handling allow, everything provided) and ``webims-block``
(sub-handling block), each naming watchers one by one (``<one id=...>``). A watcher named by neither matches no
rule and stays pending until she decides (what a presence server does for an unknown watcher). Two rules of
disjoint identities mean the same under RFC 4745's combining (the most permissive matching rule wins) and under
Kamailio's presence_xml, which applies the first matching rule only.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

import attrs

from webims_presence.xmldoc import DEFAULT_MAX_BYTES, DocumentError, local_name, parse_xml, qname, text_of

NS_CP = "urn:ietf:params:xml:ns:common-policy"
NS_PR = "urn:ietf:params:xml:ns:pres-rules"
CONTENT_TYPE = "application/auth-policy+xml"
DECISIONS = ("allow", "block")


def watcher_key(uri: str) -> str:
    """The form a presence server compares watchers in (``sip:user@host``): no brackets, parameters or case
    differences in the scheme and host."""
    uri = uri.strip().strip("<>").split(";", 1)[0]
    scheme, _, rest = uri.partition(":")
    user, at, host = rest.rpartition("@")
    return f"{scheme.lower()}:{user}{at}{host.lower()}"


@attrs.frozen
class Decisions:
    """Who she allows and who she blocks (watcher keys); ``default`` is the sub-handling of a rule for everyone
    (``<many/>``) in a document webims did not write, such as an operator's default rules."""

    allowed: frozenset[str] = frozenset()
    blocked: frozenset[str] = frozenset()
    default: str | None = None

    def decision(self, watcher: str) -> str | None:
        key = watcher_key(watcher)
        return "allow" if key in self.allowed else "block" if key in self.blocked else None

    def decide(self, watcher: str, decision: str, active: frozenset[str] = frozenset()) -> Decisions:
        """Her decision on one watcher, as the rules webims writes. When those replace rules that let everyone
        watch, the ``active`` watchers are allowed by name: her first decision takes nobody else's view away."""
        if decision not in DECISIONS:
            raise ValueError(f"decision must be allow or block, not {decision!r}")
        key = watcher_key(watcher)
        kept = {watcher_key(uri) for uri in active} - self.blocked if self.default == "allow" else set()
        allowed, blocked = (self.allowed | kept) - {key}, self.blocked - {key}
        return Decisions(allowed | {key} if decision == "allow" else allowed,
                         blocked | {key} if decision == "block" else blocked)


def build_pres_rules(decisions: Decisions) -> bytes:
    rules = []
    if decisions.allowed:
        rules.append(_rule("webims-allow", decisions.allowed, "allow",
                           "<pr:provide-services><pr:all-services/></pr:provide-services>"
                           "<pr:provide-persons><pr:all-persons/></pr:provide-persons>"
                           "<pr:provide-devices><pr:all-devices/></pr:provide-devices>"
                           "<pr:provide-all-attributes/>"))
    if decisions.blocked:
        rules.append(_rule("webims-block", decisions.blocked, "block", ""))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<cp:ruleset xmlns:cp="{NS_CP}" xmlns:pr="{NS_PR}">\n' + "".join(rules) + "</cp:ruleset>\n").encode()


def _rule(rule_id: str, watchers: frozenset[str], handling: str, transformations: str) -> str:
    identities = "".join(f"<cp:one id={quoteattr(uri)}/>" for uri in sorted(watchers))
    return (f'  <cp:rule id="{rule_id}">\n'
            f"    <cp:conditions><cp:identity>{identities}</cp:identity></cp:conditions>\n"
            f"    <cp:actions><pr:sub-handling>{handling}</pr:sub-handling></cp:actions>\n"
            f"    <cp:transformations>{transformations}</cp:transformations>\n"
            "  </cp:rule>\n")


def parse_pres_rules(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Decisions:
    """The decisions a pres-rules document states; rules with other conditions (spheres, validity) are
    not decisions on a watcher and are left out."""
    root = parse_xml(body, "pres-rules", max_bytes)
    if root.tag != qname(NS_CP, "ruleset"):
        raise DocumentError(f"expected a common-policy <ruleset>, got <{local_name(root)}>")
    allowed, blocked, default = set(), set(), None
    for rule in root.findall(qname(NS_CP, "rule")):
        handling = text_of(rule.find(f"{qname(NS_CP, 'actions')}/{qname(NS_PR, 'sub-handling')}"))
        identity = rule.find(f"{qname(NS_CP, 'conditions')}/{qname(NS_CP, 'identity')}")
        if handling not in ("allow", "block", "confirm", "polite-block") or identity is None:
            continue
        ones = {watcher_key(one.get("id", "")) for one in identity.findall(qname(NS_CP, "one"))}
        if handling == "allow":
            allowed |= ones
        elif handling == "block":
            blocked |= ones
        if any(many.get("domain") is None and len(many) == 0 for many in identity.findall(qname(NS_CP, "many"))):
            default = handling
    return Decisions(frozenset(allowed - blocked), frozenset(blocked), default)
