"""What call.start takes besides the target: the name she calls the callee by (webims_voice.plugin._peer_name)."""

import pytest

from webims.errors import ServiceError
from webims_voice.plugin import _peer_name


def test_the_name_is_kept_as_plain_text_without_control_characters():
    assert _peer_name({"name": "  Bob\u0007 Smith\n"}) == "Bob Smith"
    assert _peer_name({}) == ""


@pytest.mark.parametrize("name", [42, ["Bob"], "x" * 201])
def test_a_name_that_is_not_short_text_is_refused_with_a_reason(name):
    with pytest.raises(ServiceError, match="at most 200 characters"):
        _peer_name({"name": name})
