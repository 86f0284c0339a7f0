"""The registration context's own behaviour (webims/context.py); plugins' use of it is tested with them."""

from webims.context import PublicIdentity, RegistrationContext


class Tab:
    def __init__(self, gone: bool = False) -> None:
        self.events: list[tuple] = []
        self.gone = gone

    async def send_event(self, service, type, body=None, session=None) -> bool:
        if self.gone:
            return False
        self.events.append((service, type, body, session))
        return True


async def test_every_tab_hears_a_service_event_even_when_another_tab_has_gone():
    context = RegistrationContext("mary@ims.test", (PublicIdentity("sip:mary@ims.test"),))
    first, gone, last = Tab(), Tab(gone=True), Tab()
    context.browsers.update({first, gone, last})
    await context.tell_tabs("voice", "call.ended", {"call": "c1"}, session="c1")
    assert first.events == last.events == [("voice", "call.ended", {"call": "c1"}, "c1")]


async def test_an_event_can_go_to_some_tabs_only():
    context = RegistrationContext("mary@ims.test")
    answered_here, other = Tab(), Tab()
    context.browsers.update({answered_here, other})
    await context.tell_tabs("voice", "call.taken", {"by": "answered"}, tabs=[other])
    assert other.events == [("voice", "call.taken", {"by": "answered"}, None)] and answered_here.events == []
