"""The same bridge API over worker processes: calls spread over them, media still flows."""

import pytest
import trio

from webims.media import MediaConfig, MediaError, MediaMode, open_media_engine
from webims.media.engine import LOST_MEDIA

from .conftest import FakePhone, connect_outgoing_call, wait_for


async def test_calls_spread_over_worker_processes_and_relay(make_browser):
    config = MediaConfig(workers=2, browser_addresses=("127.0.0.1",), ims_port_range=(42000, 42999))
    async with open_media_engine(config) as engine, trio.open_nursery() as nursery:
        phones = []
        for _ in range(2):
            phone = FakePhone()
            await phone.bind()
            nursery.start_soon(phone.run)
            phones.append(phone)
        calls = [await connect_outgoing_call(engine, make_browser, phone, browser_codecs=("PCMU",))
                 for phone in phones]
        assert sorted(host.load for host in engine._hosts) == [1, 1]
        assert len({host.pid for host in engine._hosts}) == 2
        await wait_for(lambda: all(p.count(0) > 10 for p in phones) and
                       all(len(browser.frames) > 10 for browser, _, _ in calls))
        for _, bridge, _ in calls:
            assert (await bridge.stats()).mode is MediaMode.RELAY
        bridge = calls[0][1]
        try:
            await bridge.send_dtmf("x", to="ims")
        except MediaError as exc:  # errors cross the pipe as themselves
            assert "not a DTMF digit" in str(exc)
        else:
            raise AssertionError("expected a MediaError")
        nursery.cancel_scope.cancel()


async def test_a_worker_that_dies_ends_its_calls_with_a_reason_and_is_started_again():
    config = MediaConfig(workers=1, ims_port_range=(42000, 42999))
    async with open_media_engine(config) as engine:
        host = engine._hosts[0]
        bridge = await engine.new_bridge("doomed")
        first_pid = host.pid
        host._process.kill()
        with trio.fail_after(5):
            async for _ in bridge.events():  # they end with the process
                pass
        assert bridge.lost == LOST_MEDIA
        assert not host.alive and host.load == 0 and engine.bridges == []
        with pytest.raises(MediaError, match="^The gateway lost this call's audio"):
            await bridge.ims_offer()
        with pytest.raises(MediaError, match="^The gateway's media process is being restarted"):
            await engine.new_bridge("meanwhile")  # its restart waits 1 s: it died within a minute of starting
        await wait_for(lambda: host.alive, timeout=10)
        assert host.pid != first_pid and host.restarts == 1
        fresh = await engine.new_bridge("after")
        assert "m=audio" in await fresh.ims_offer()
        await fresh.close()
