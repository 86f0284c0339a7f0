"""webims' SIP stack against SIPp (Debian's sip-tester), started and stopped by the tests."""

from pathlib import Path

import pytest
import trio

from webims.ims.transport import Address
from webims.sip.dialog import Dialog, dialog_response
from webims.testing.peers.errors import require_binary
from webims.testing.peers.ports import free_port

pytestmark = pytest.mark.interop
SCENARIOS = Path(__file__).parent / "scenarios"


async def run_sipp(tmp_path, *arguments):
    """Run SIPp to its end; fail with its own error log if its scenario did not complete."""
    command = [require_binary("sipp"), *arguments, "-m", "1", "-nostdin", "-timeout", "15s", "-timeout_error",
               "-trace_err", "-error_file", str(tmp_path / "errors.log"),
               "-trace_msg", "-message_file", str(tmp_path / "messages.log")]
    with trio.fail_after(25):
        result = await trio.run_process(command, cwd=tmp_path, capture_stdout=True, capture_stderr=True,
                                        check=False)
    errors = (tmp_path / "errors.log").read_text(errors="replace") if (tmp_path / "errors.log").exists() else ""
    assert result.returncode == 0, f"SIPp failed ({result.returncode}): {errors[-2000:]}"


async def test_sipp_calls_a_webims_ua(sip_peer, nursery, tmp_path):
    peer = await sip_peer()
    calls = []

    async def answer():
        invite = await peer.expect("INVITE")
        ok = dialog_response(invite.request, 200, to_tag="webims1", contact=f"<{peer.uri('callee')}>")
        await invite.reply(180, to_tag="webims1")
        await invite.respond(ok)
        dialog = Dialog.from_uas(invite.request, ok)
        ack = await peer.expect("ACK")
        assert dialog.receive_request(ack.request) is None
        bye = await peer.expect("BYE")
        assert dialog.receive_request(bye.request) is None
        await bye.reply(200)
        calls.append(dialog)
    nursery.start_soon(answer)
    await run_sipp(tmp_path, f"127.0.0.1:{peer.address.port}", "-sf", str(SCENARIOS / "uac_call.xml"),
                   "-i", "127.0.0.1", "-p", str(free_port()))
    assert calls, "the call reached the webims UA"


@pytest.mark.parametrize("scenario", ["uas", "uas_answers_late.xml"])
async def test_a_webims_call_is_answered_by_sipp(sip_peer, nursery, tmp_path, scenario):
    """With the late-answer scenario SIPp is silent for 1.6 s: our INVITE is retransmitted meanwhile."""
    port = free_port()
    role = ["-sn", "uas"] if scenario == "uas" else ["-sf", str(SCENARIOS / scenario)]
    sipp_done = trio.Event()

    async def sipp():
        await run_sipp(tmp_path, *role, "-i", "127.0.0.1", "-p", str(port))
        sipp_done.set()
    nursery.start_soon(sipp)
    await trio.sleep(0.3)  # SIPp binds its port
    peer = await sip_peer()
    agent = peer.agent(Address("127.0.0.1", port))
    invite = agent.build_request("INVITE", f"sip:service@127.0.0.1:{port}", from_uri="sip:mary@ims.test",
                                 headers=[("Contact", f"<{peer.uri('mary')}>")])
    provisional = []
    ok = await agent.send(invite, on_provisional=provisional.append)
    assert ok.status == 200
    assert [r.status for r in provisional if r.status > 100] == [180]
    dialog = Dialog.from_uac(invite, ok)
    await agent.endpoint.send_stateless(agent.with_via(dialog.create_ack(ok)), agent.proxy)
    await trio.sleep(0.2)
    assert (await agent.send(agent.with_via(dialog.create_request("BYE")), authenticate=False)).status == 200
    with trio.fail_after(10):
        await sipp_done.wait()
    invites_seen = (tmp_path / "messages.log").read_text().count("INVITE sip:service@")
    assert invites_seen >= (3 if scenario == "uas_answers_late.xml" else 1)
