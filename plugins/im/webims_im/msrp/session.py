"""One MSRP session (RFC 4975) as a sans-IO state machine: frames in, events out, bytes to send.

The owner feeds every frame addressed to this session (:meth:`receive_frame`), pulls events
(:meth:`next_event`) and writes what :meth:`data_to_send` returns. Outgoing messages are cut into chunks lazily,
one per call, after any pending responses and reports: a 413 or a failure stops a message's remaining chunks
from ever being written (§7.1.1), and messages interleave. Incoming chunks are reassembled per Message-ID in
order; responses (§7.2) and success/failure REPORTs (§7.1.3, §7.1.4) are produced here. No clock: the owner
gives up on a message with :meth:`abandon`, and tells about a lost connection with :meth:`connection_lost`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import attrs

from webims_im.msrp import frames
from webims_im.msrp.errors import LocalProtocolError, RemoteProtocolError
from webims_im.msrp.events import MessageAborted, MessageAccepted, MessageFailed, MessageReceived, ReportReceived
from webims_im.msrp.frames import ByteRange, Request, Response, Status
from webims_im.msrp.uri import MsrpUri

Event = MessageReceived | MessageAborted | MessageAccepted | MessageFailed | ReportReceived


@attrs.define(eq=False)
class _Outgoing:
    message_id: str
    chunks: Iterator[Request]
    pending: set[str] = attrs.field(factory=set)  # transaction ids awaiting a response
    written: bool = False  # the last chunk has been handed out


@attrs.define(eq=False)
class _Incoming:
    content_type: str
    received: bytearray
    success_report: bool
    failure_report: str
    refused: bool = False


class MsrpSession:
    def __init__(self, local: MsrpUri, to_path: tuple[MsrpUri, ...], *, accept_types: tuple[str, ...],
                 chunk_bytes: int = 2048, max_message_bytes: int = 1 << 20):
        self.local = local
        self.to_path = tuple(to_path)  # our relays' Use-Path, then the peer's a=path
        self.accept_types = accept_types
        self.chunk_bytes = chunk_bytes
        self.max_message_bytes = max_message_bytes
        self._outgoing: deque[_Outgoing] = deque()
        self._by_transaction: dict[str, _Outgoing] = {}
        self._incoming: dict[str, _Incoming] = {}
        self._delivered: dict[str, _Incoming] = {}  # whole, awaiting the owner's confirm() or reject()
        self._replies: deque[bytes] = deque()
        self._events: deque[Event] = deque()
        self.closed = False

    @property
    def peer(self) -> MsrpUri:
        return self.to_path[-1]

    # --- sending ---------------------------------------------------------------------------------------------

    def send_message(self, message_id: str, content_type: str, body: bytes, *, success_report: bool = True) -> None:
        """Queue a message; its chunks come out of :meth:`data_to_send`."""
        if self.closed:
            raise LocalProtocolError("the MSRP session has ended")
        headers = [("Message-ID", message_id)]
        if success_report:
            headers.append(("Success-Report", "yes"))
        self._outgoing.append(_Outgoing(message_id, self._chunks(headers, content_type, body)))

    def send_bind(self, message_id: str) -> None:
        """§5.4: the end that opened the connection sends a SEND at once, so the other end knows the session."""
        self._outgoing.append(_Outgoing(message_id, iter([frames.request(
            "SEND", self.to_path, (self.local,), [("Message-ID", message_id), ("Byte-Range", "1-0/0")])])))

    def _chunks(self, headers: list[tuple[str, str]], content_type: str, body: bytes) -> Iterator[Request]:
        total = len(body)
        for start in range(0, max(total, 1), self.chunk_bytes):
            part = body[start:start + self.chunk_bytes]
            last = start + self.chunk_bytes >= total
            byte_range = ByteRange(start + 1, start + len(part), total)
            yield frames.request("SEND", self.to_path, (self.local,),
                                 [*headers, ("Byte-Range", str(byte_range)), ("Content-Type", content_type)],
                                 part, frames.COMPLETE if last else frames.CONTINUES)

    def data_to_send(self) -> bytes:
        """Pending responses and reports, then at most one chunk (call again until it returns nothing)."""
        data = b"".join(self._replies)
        self._replies.clear()
        if not self._outgoing:
            return data
        outgoing = self._outgoing[0]
        chunk = next(outgoing.chunks)
        outgoing.pending.add(chunk.transaction_id)
        self._by_transaction[chunk.transaction_id] = outgoing
        if chunk.continuation == frames.CONTINUES:
            self._outgoing.rotate(-1)  # the next call serves the next message: chunks interleave
        else:
            self._outgoing.popleft()
            outgoing.written = True
        return data + chunk.to_bytes()

    def abandon(self, message_id: str, status: int = 408, reason: str = "no response from the other side") -> None:
        """Give up on a message we sent (the owner's timer ran out): no more of its chunks go out."""
        outgoing = self._find_outgoing(message_id)
        if outgoing is not None:
            self._fail(outgoing, status, reason)

    def _find_outgoing(self, message_id: str) -> _Outgoing | None:
        candidates = [*self._outgoing, *self._by_transaction.values()]
        return next((o for o in candidates if o.message_id == message_id), None)

    def _fail(self, outgoing: _Outgoing, status: int, reason: str) -> None:
        if outgoing in self._outgoing:
            self._outgoing.remove(outgoing)
        for transaction_id in outgoing.pending:
            self._by_transaction.pop(transaction_id, None)
        outgoing.pending.clear()
        outgoing.written = True
        self._events.append(MessageFailed(outgoing.message_id, status, reason))

    def _maybe_accepted(self, outgoing: _Outgoing) -> None:
        if outgoing.written and not outgoing.pending:
            self._events.append(MessageAccepted(outgoing.message_id))

    # --- receiving -------------------------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def receive_frame(self, frame: Request | Response) -> None:
        if isinstance(frame, Response):
            self._receive_response(frame)
        elif frame.method == "SEND":
            self._receive_send(frame)
        elif frame.method == "REPORT":
            self._receive_report(frame)
        else:
            self._reply(frame, 501)

    def _receive_response(self, response: Response) -> None:
        outgoing = self._by_transaction.pop(response.transaction_id, None)
        if outgoing is None:
            return  # late, or for a message we gave up on
        outgoing.pending.discard(response.transaction_id)
        if response.status != 200:
            self._fail(outgoing, response.status, response.comment or frames.REASONS.get(response.status, ""))
        else:
            self._maybe_accepted(outgoing)

    def _receive_report(self, report: Request) -> None:
        # §7.1.2: REPORTs get no response.
        if report.message_id is None:
            return
        status = Status.parse(report.header("Status"))
        self._events.append(ReportReceived(report.message_id, status.code, status.comment,
                                           report.header("Byte-Range") or ""))

    def _receive_send(self, send: Request) -> None:
        refusal = self._refusal(send)
        if refusal is not None:
            self._reply(send, *refusal)
            return
        message_id = send.message_id
        incoming = self._incoming.get(message_id)
        if incoming is None:
            incoming = self._incoming[message_id] = _Incoming(
                (send.content_type or "").strip(), bytearray(),
                send.report_wanted("Success-Report") == "yes", send.report_wanted("Failure-Report"))
        status = self._take_chunk(incoming, send)
        self._reply(send, status)
        if status == 413 or incoming.refused:
            if send.continuation != frames.CONTINUES:
                del self._incoming[message_id]
            return
        if send.continuation == frames.ABORTED:
            del self._incoming[message_id]
            self._events.append(MessageAborted(message_id, "the sender abandoned the message"))
        elif send.continuation == frames.COMPLETE:
            del self._incoming[message_id]
            self._complete(message_id, incoming)

    def _refusal(self, send: Request) -> tuple[int, str] | None:
        """§7.3.1: the checks before a chunk is taken; (status, comment) when it is not."""
        if not send.to_path[0].matches(self.local):
            return 481, "No Such Session"
        if not send.from_path[-1].matches(self.peer):
            return 403, "From-Path is not this session's peer"
        if send.message_id is None:
            return 400, "SEND without Message-ID"
        if send.content_type is None:
            return None if send.message_id not in self._incoming else (400, "chunk without Content-Type")
        if not _acceptable(send.content_type, self.accept_types):
            return 415, "Unsupported Media Type"
        return None

    def _take_chunk(self, incoming: _Incoming, send: Request) -> int:
        byte_range = send.byte_range
        if incoming.refused:
            return 413
        if byte_range.start != len(incoming.received) + 1:
            raise RemoteProtocolError(f"chunk of {send.message_id} starts at byte {byte_range.start}, "
                                      f"expected {len(incoming.received) + 1}")
        size = max(byte_range.total or 0, len(incoming.received) + len(send.body))
        if size > self.max_message_bytes:
            incoming.refused = True
            self._events.append(MessageAborted(send.message_id, f"the message is larger than "
                                                                f"{self.max_message_bytes} bytes"))
            return 413
        incoming.received += send.body
        return 200

    def _complete(self, message_id: str, incoming: _Incoming) -> None:
        if not incoming.content_type:
            return  # an empty SEND that opened a connection (§5.4): nothing to deliver
        self._delivered[message_id] = incoming
        self._events.append(MessageReceived(message_id, incoming.content_type, bytes(incoming.received)))

    def confirm(self, message: MessageReceived) -> None:
        """The owner kept the message: send the success REPORT if the sender asked for one (§7.1.3).

        Not sent on arrival: "delivered" must mean kept, so the owner confirms after storing it."""
        incoming = self._delivered.pop(message.message_id, None)
        if incoming is not None and incoming.success_report:
            self._report(message.message_id, len(message.body), 200)

    def reject(self, message: MessageReceived, status: int, reason: str) -> None:
        """The message arrived whole but is unusable (bad content, cannot be kept): a failure REPORT (§7.1.4),
        unless the sender said Failure-Report: no."""
        incoming = self._delivered.pop(message.message_id, None)
        if incoming is None or incoming.failure_report != "no":
            self._report(message.message_id, len(message.body), status, reason)

    def _report(self, message_id: str, size: int, status: int, reason: str = "") -> None:
        # §7.1.2 sends a REPORT back along the SEND's From-Path; we use the session's own To-Path, which reaches
        # the same peer: the lab's relay loses REPORTs sent on the path without the sender's relay (NOTES).
        headers = [("Message-ID", message_id), ("Byte-Range", f"1-{size}/{size}"),
                   ("Status", str(Status(status, reason)))]
        self._replies.append(frames.request("REPORT", self.to_path, (self.local,), headers).to_bytes())

    def _reply(self, request: Request, status: int, comment: str | None = None) -> None:
        # §7.1.1: Failure-Report "no" means no response at all; "partial" means none for success.
        wanted = request.report_wanted("Failure-Report")
        if wanted == "no" or (wanted == "partial" and status == 200):
            return
        self._replies.append(frames.response_to(request, status, comment).to_bytes())

    # --- the end ---------------------------------------------------------------------------------------------

    def connection_lost(self, reason: str) -> None:
        """Whatever was in flight either way fails with ``reason``; the session takes nothing more."""
        self.closed = True
        for outgoing in {*self._outgoing, *self._by_transaction.values()}:
            self._fail(outgoing, 0, reason)
        for message_id in list(self._incoming):
            del self._incoming[message_id]
            self._events.append(MessageAborted(message_id, reason))


def _acceptable(content_type: str, accept_types: tuple[str, ...]) -> bool:
    """§8.6: accept-types may name ``*`` or ``type/*``."""
    kind = content_type.split(";")[0].strip().lower()
    major = kind.split("/")[0]
    return any(a == "*" or a.lower() == kind or a.lower() == f"{major}/*" for a in accept_types)

