"""
ipcproto.py - tern's internal protocol (lib/ipc, docs/ipc.md) in Python, for
integration tests that play one side of a daemon conversation: a fake
delivery agent facing qmgr, or a client sending QMGR_NOTIFY / QMGR_FLUSH.

    frame := u32 len | u16 version | u16 type | u32 reqid | attr*
    attr  := u8 name_len | name | u8 kind | u32 vlen | value

Integers are big-endian; len counts the bytes after itself.  Kinds: STR 1
(text, no NUL), U32 2, U64 3, DATA 4.  Each side opens with
HELLO{protocol STR, version U32}.

Touches:  only the sockets handed to it.
Security: test-only; frames over MAX_FRAME or malformed attributes raise
          ProtocolError instead of being trusted.
Errors:   ProtocolError (bad frame, HELLO mismatch), EOFError (peer closed).
"""

import socket
import struct

FRAME_VERSION = 1
MAX_FRAME = 64 * 1024

HELLO = 0
ERROR = 1
TYPE_FIRST = 16

# lib/proto.h: "qmgr" protocol
QMGR_NOTIFY = TYPE_FIRST
QMGR_NOTIFY_OK = TYPE_FIRST + 1
QMGR_FLUSH = TYPE_FIRST + 2
QMGR_FLUSH_OK = TYPE_FIRST + 3

# lib/proto.h: "deliver" protocol
DELIVER_REQUEST = TYPE_FIRST
DELIVER_STATUS = TYPE_FIRST + 1
DELIVER_DONE = TYPE_FIRST + 2
DELIVER_OK, DELIVER_DEFER, DELIVER_BOUNCE = 0, 1, 2

KIND_STR, KIND_U32, KIND_U64, KIND_DATA = 1, 2, 3, 4


class ProtocolError(Exception):
    pass


class U32(int):
    pass


class U64(int):
    pass


def _encode_attr(name, value):
    nb = name.encode("ascii")
    if isinstance(value, U64):
        kind, raw = KIND_U64, struct.pack(">Q", value)
    elif isinstance(value, int):
        kind, raw = KIND_U32, struct.pack(">I", value)
    elif isinstance(value, (bytes, bytearray)):
        kind, raw = KIND_DATA, bytes(value)
    elif isinstance(value, str):
        kind, raw = KIND_STR, value.encode("utf-8")
    else:
        raise TypeError(f"cannot encode {name}={value!r}")
    return struct.pack(">B", len(nb)) + nb + struct.pack(">BI", kind, len(raw)) + raw


def build(mtype, reqid=0, attrs=None):
    """One frame of type mtype with the attributes (dict name -> value):
    int is U32 (U64(n) for U64), bytes are DATA, str is STR."""
    body = struct.pack(">HHI", FRAME_VERSION, mtype, reqid)
    for name, value in (attrs or {}).items():
        body += _encode_attr(name, value)
    return struct.pack(">I", len(body)) + body


def parse(frame):
    """(type, reqid, {name: value}) of one whole frame (len included).
    STR values come back as str, U32/U64 as int, DATA as bytes."""
    if len(frame) < 12:
        raise ProtocolError("short frame")
    (length,) = struct.unpack(">I", frame[:4])
    if length + 4 != len(frame) or length < 8:
        raise ProtocolError("bad length")
    version, mtype, reqid = struct.unpack(">HHI", frame[4:12])
    if version != FRAME_VERSION:
        raise ProtocolError(f"frame version {version}")
    attrs, pos = {}, 12
    while pos < len(frame):
        nlen = frame[pos]
        name = frame[pos + 1:pos + 1 + nlen].decode("ascii")
        pos += 1 + nlen
        if pos + 5 > len(frame):
            raise ProtocolError("truncated attribute")
        kind, vlen = struct.unpack(">BI", frame[pos:pos + 5])
        pos += 5
        raw = frame[pos:pos + vlen]
        if len(raw) != vlen:
            raise ProtocolError("truncated value")
        pos += vlen
        if name in attrs:
            raise ProtocolError(f"duplicate {name}")
        if kind == KIND_STR:
            attrs[name] = raw.decode("utf-8", "replace")
        elif kind == KIND_U32 and vlen == 4:
            attrs[name] = struct.unpack(">I", raw)[0]
        elif kind == KIND_U64 and vlen == 8:
            attrs[name] = struct.unpack(">Q", raw)[0]
        elif kind == KIND_DATA:
            attrs[name] = raw
        else:
            raise ProtocolError(f"bad kind {kind} for {name}")
    return mtype, reqid, attrs


class Conn:
    """A blocking framed connection over a connected stream socket."""

    def __init__(self, sock, timeout=30.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.rbuf = b""

    def send(self, mtype, reqid=0, attrs=None):
        self.sock.sendall(build(mtype, reqid, attrs))

    def recv(self):
        """(type, reqid, attrs) of the next frame; EOFError on EOF."""
        while True:
            if len(self.rbuf) >= 4:
                (length,) = struct.unpack(">I", self.rbuf[:4])
                if length + 4 > MAX_FRAME:
                    raise ProtocolError("frame over the limit")
                if len(self.rbuf) >= length + 4:
                    frame, self.rbuf = self.rbuf[:length + 4], self.rbuf[length + 4:]
                    return parse(frame)
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("peer closed")
            self.rbuf += data

    def hello(self, protocol, version=1):
        """Send our HELLO and check the peer's."""
        self.send(HELLO, 0, {"protocol": protocol, "version": U32(version)})
        mtype, _, attrs = self.recv()
        if (mtype != HELLO or attrs.get("protocol") != protocol
                or attrs.get("version") != version):
            raise ProtocolError(f"bad HELLO from peer: {mtype} {attrs}")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def connect_unix(path, protocol, timeout=30.0):
    """A Conn to the UNIX socket at path, HELLO exchanged."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(str(path))
    c = Conn(s, timeout)
    c.hello(protocol)
    return c


def call(path, protocol, mtype, attrs=None, reqid=1, timeout=30.0):
    """One request and its reply: (type, reqid, attrs)."""
    c = connect_unix(path, protocol, timeout)
    try:
        c.send(mtype, reqid, attrs)
        return c.recv()
    finally:
        c.close()
