"""A scriptable MSRP endpoint (RFC 4975) for tests of chat services: the other side of a chat, misbehaving on demand.

    peer = await msrp_peer()                      # listening on a free loopback port
    sdp = peer.sdp(setup="active")                # its m=message offer or answer (a=path is peer.uri)
    await peer.connect(path); await peer.bind()   # or: await peer.accept()
    await peer.send_text("hello")                 # a SEND (chunked if asked), returns the transaction ids
    frame = await peer.next_frame("SEND")         # what the other side sent, parsed loosely
    await peer.respond(frame, 413)                # any status, also the wrong ones
    await peer.send_raw(b"garbage")               # anything, framing errors included
    await peer.vanish()                           # drop the connection at once, mid-chunk if you like

Frames are written and read here by hand, independent of any MSRP implementation under test, so a test can
check what goes on the wire and send what no correct endpoint would.
"""

from __future__ import annotations

import secrets

import attrs
import trio


@attrs.frozen
class MsrpFrame:
    """One frame as received: the start line split up, the headers, the content and the end-line's flag."""

    transaction_id: str
    method: str | None  # None for a response
    status: int | None
    headers: dict[str, str]
    body: bytes
    flag: str

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers.items() if key.lower() == name.lower()), None)


class MsrpPeer:
    def __init__(self, session_id: str | None = None):
        self.session_id = session_id or secrets.token_hex(6)
        self.port: int | None = None
        self.stream: trio.SocketStream | None = None
        self.to_path = ""  # the other side's path, learnt from its first frame or given to connect()
        self.frames: list[MsrpFrame] = []
        self._connected = trio.Event()
        self._listeners: list[trio.SocketListener] = []
        self._buffer = b""

    @property
    def uri(self) -> str:
        return f"msrp://127.0.0.1:{self.port}/{self.session_id};tcp"

    async def start(self, nursery: trio.Nursery) -> MsrpPeer:
        self._listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = self._listeners[0].socket.getsockname()[1]
        nursery.start_soon(trio.serve_listeners, self._accepted, self._listeners)
        return self

    def sdp(self, setup: str = "active", accept_types: str = "message/cpim text/plain "
                                                           "application/im-iscomposing+xml") -> bytes:
        lines = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
                 f"m=message {self.port} TCP/MSRP *", f"a=accept-types:{accept_types}",
                 "a=accept-wrapped-types:text/plain message/imdn+xml", f"a=path:{self.uri}", f"a=setup:{setup}"]
        return ("\r\n".join(lines) + "\r\n").encode()

    async def _accepted(self, stream: trio.SocketStream) -> None:
        if self.stream is not None:
            await stream.aclose()  # one connection per peer
            return
        self.stream = stream
        self._connected.set()
        await trio.sleep_forever()  # the test reads and writes it; closing the test's nursery ends it

    async def accept(self, timeout: float = 5) -> None:
        """Wait until the other side has connected to us."""
        with trio.fail_after(timeout):
            await self._connected.wait()

    async def connect(self, path: str) -> None:
        """Connect to the first URI of ``path`` (the other side's a=path), which becomes our To-Path."""
        authority = path.split()[0].split("://", 1)[1].split("/", 1)[0].split(";", 1)[0]
        host, _, port = authority.rpartition(":")
        self.stream = await trio.open_tcp_stream(host, int(port))
        self.to_path = path
        self._connected.set()

    # --- writing ---------------------------------------------------------------------------------------------

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    def frame(self, method: str, headers: list[tuple[str, str]], body: bytes | None = None, flag: str = "$",
              transaction_id: str | None = None) -> bytes:
        transaction_id = transaction_id or secrets.token_hex(6)
        head = [f"MSRP {transaction_id} {method}", f"To-Path: {self.to_path}", f"From-Path: {self.uri}"]
        head += [f"{name}: {value}" for name, value in headers]
        content = b"" if body is None else b"\r\n" + body + b"\r\n"
        return ("\r\n".join(head) + "\r\n").encode() + content + f"-------{transaction_id}{flag}\r\n".encode()

    async def bind(self) -> None:
        """The empty SEND the connecting end sends first, so the other end knows the session (RFC 4975 §5.4)."""
        await self.send_raw(self.frame("SEND", [("Message-ID", secrets.token_hex(6)), ("Byte-Range", "1-0/0")]))

    async def send_text(self, text: str | bytes, *, content_type: str = "text/plain", chunk_bytes: int = 0,
                        message_id: str | None = None, success_report: bool = False) -> list[str]:
        """SEND one message (in chunks of ``chunk_bytes``, 0 = one chunk); returns the transaction ids."""
        body = text.encode() if isinstance(text, str) else text
        message_id = message_id or secrets.token_hex(6)
        size = chunk_bytes or max(len(body), 1)
        transactions = []
        for start in range(0, max(len(body), 1), size):
            part = body[start:start + size]
            last = start + size >= len(body)
            transaction_id = secrets.token_hex(6)
            headers = [("Message-ID", message_id), ("Byte-Range", f"{start + 1}-{start + len(part)}/{len(body)}")]
            if success_report:
                headers.append(("Success-Report", "yes"))
            headers.append(("Content-Type", content_type))
            await self.send_raw(self.frame("SEND", headers, part, "$" if last else "+", transaction_id))
            transactions.append(transaction_id)
        return transactions

    async def respond(self, frame: MsrpFrame, status: int, comment: str = "") -> None:
        """Answer a request; the other side's URI is the first of its From-Path (RFC 4975 §7.2)."""
        previous = frame.header("From-Path").split()[0]
        data = (f"MSRP {frame.transaction_id} {status} {comment}".rstrip() + f"\r\nTo-Path: {previous}\r\n"
                f"From-Path: {self.uri}\r\n-------{frame.transaction_id}$\r\n")
        await self.send_raw(data.encode())

    async def report(self, frame: MsrpFrame, status: int = 200) -> None:
        """A REPORT about a SEND we received (success or failure, RFC 4975 §7.1.2)."""
        size = len(frame.body)
        await self.send_raw(self.frame("REPORT", [("Message-ID", frame.header("Message-ID")),
                                                  ("Byte-Range", f"1-{size}/{size}"),
                                                  ("Status", f"000 {status} {'OK' if status == 200 else 'Error'}")]))

    async def vanish(self) -> None:
        """Drop the connection without a word (RST where the system allows)."""
        await trio.aclose_forcefully(self.stream)

    # --- reading ---------------------------------------------------------------------------------------------

    async def next_frame(self, method: str | None = None, *, timeout: float = 5, answer: int | None = 200
                         ) -> MsrpFrame:
        """The next frame (of ``method``; requests on the way are answered ``answer`` and skipped, responses
        skipped). A SEND from the other side teaches us its From-Path as our To-Path."""
        with trio.fail_after(timeout):
            while True:
                frame = await self._read_frame()
                self.frames.append(frame)
                if frame.method is not None and not self.to_path:
                    self.to_path = frame.header("From-Path")
                if method is None or frame.method == method:
                    return frame
                if frame.method == "SEND" and answer is not None:
                    await self.respond(frame, answer)

    async def _read_frame(self) -> MsrpFrame:
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError("the other side closed the MSRP connection")
            self._buffer += data

    def _parse(self) -> MsrpFrame | None:
        line_end = self._buffer.find(b"\r\n")
        if line_end < 0:
            return None
        _, transaction_id, rest = self._buffer[:line_end].decode().split(" ", 2)
        marker = f"\r\n-------{transaction_id}".encode()
        end = self._buffer.find(marker, line_end)
        if end < 0 or len(self._buffer) < end + len(marker) + 3:
            return None
        head, _, body = self._buffer[line_end + 2:end].partition(b"\r\n\r\n")
        flag = chr(self._buffer[end + len(marker)])
        self._buffer = self._buffer[end + len(marker) + 3:]
        headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n") if line)
        code = rest.split(" ", 1)[0]
        if code.isdecimal():
            return MsrpFrame(transaction_id, None, int(code), headers, body, flag)
        return MsrpFrame(transaction_id, rest, None, headers, body, flag)
