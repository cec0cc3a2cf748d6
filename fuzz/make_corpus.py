#!/usr/bin/env python3
"""Writes the seed corpora. Each file starts with the harness's control byte. Handshake: segment count and cut
points. Frames: bit 7 picks the server role (which expects masked frames), bits 0-6 the cut point in 128ths."""
import os, struct

here = os.path.dirname(os.path.abspath(__file__))
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 sample nonce, as the harness uses

def write(folder, name, control, data):
    path = os.path.join(here, "corpus", folder)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(bytes([control]) + data)

def resp(status="101 Switching Protocols", *headers, tail=b""):
    text = "HTTP/1.1 " + status + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n"
    return text.encode("latin-1") + tail

ok = ("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: " + ACCEPT)
handshake = {
    "valid": (0, resp("101 Switching Protocols", *ok)),
    "valid-split2": (0x11, resp("101 Switching Protocols", *ok)),
    "valid-split3": (0x96, resp("101 Switching Protocols", *ok)),
    "valid-subprotocol": (0, resp("101 Switching Protocols", *ok, "Sec-WebSocket-Protocol: superchat")),
    "valid-with-frame": (1, resp("101 Switching Protocols", *ok, tail=b"\x81\x05hello")),
    "valid-kestrel-style": (2, resp("101 Switching Protocols", "Connection: Upgrade", "Date: Mon, 01 Jan 2024 00:00:00 GMT",
                                    "Server: Kestrel", "Upgrade: websocket", "Sec-WebSocket-Accept: " + ACCEPT)),
    "valid-lowercase": (0, resp("101 Switching Protocols", "upgrade: WebSocket", "connection: keep-alive, upgrade",
                                "sec-websocket-accept: " + ACCEPT)),
    "refused-403": (0, resp("403 Forbidden", "Content-Type: text/plain", "Content-Length: 9", tail=b"forbidden")),
    "refused-426": (0, resp("426 Upgrade Required", "Sec-WebSocket-Version: 13", "Content-Length: 0")),
    "wrong-accept": (0, resp("101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
                             "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==")),
    "extension": (0, resp("101 Switching Protocols", *ok, "Sec-WebSocket-Extensions: permessage-deflate")),
    "obs-fold": (0, resp("101 Switching Protocols", "Upgrade: websocket", "Connection: keep-alive,", " Upgrade",
                         "Sec-WebSocket-Accept: " + ACCEPT)),
    "bare-lf": (0, resp("101 Switching Protocols", *ok).replace(b"\r\n", b"\n")),
    "truncated": (0, resp("101 Switching Protocols", *ok)[:60]),
}
for name, (control, data) in handshake.items():
    write("handshake", name, control, data)

def frame(opcode, payload=b"", fin=True, mask=None, rsv=0):
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([first, (0x80 if mask else 0) | n])
    elif n < 65536:
        head = bytes([first, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload

M = b"\x37\xfa\x21\x3d"
SERVER = 0x80  # control bit: reader in the server role, frames must be masked
frames = {
    "text": (0, frame(1, b"Hello")),
    "binary-126": (0, frame(2, bytes(range(200)))),
    "binary-127": (0, frame(2, bytes(70000))),
    "fragmented-with-ping": (0x11, frame(1, b"Hel", fin=False) + frame(9, b"p") + frame(0, b"lo")),
    "close-1000": (0, frame(8, struct.pack(">H", 1000) + b"bye")),
    "pong-empty": (0, frame(10)),
    "masked-to-server": (SERVER, frame(1, b"Hello", mask=M) + frame(8, struct.pack(">H", 1001), mask=M)),
    "masked-to-client": (0, frame(1, b"Hello", mask=M)),
    "unmasked-to-server": (SERVER, frame(1, b"Hello")),
    "rsv1-set": (0, frame(1, b"x", rsv=4)),
    "bad-opcode": (0, frame(3, b"x")),
    "ping-too-long": (0, frame(9, bytes(126))),
    "fragmented-ping": (0, frame(9, b"x", fin=False)),
    "bad-utf8-split": (0x12, frame(1, b"\xce", fin=False) + frame(0, b"\x41")),
    "close-bad-code": (0, frame(8, struct.pack(">H", 1005))),
    "continuation-first": (0, frame(0, b"x")),
    "truncated-header": (0, frame(2, bytes(300))[:3]),
    # A message cut off mid-payload: the reader owns a partial buffer that Dispose must return.
    "truncated-payload": (0x40, frame(2, bytes(range(256)) + bytes(44))[:150]),
    "fragmented-growth": (0x33, frame(2, bytes(10), fin=False) + frame(0, bytes(300), fin=False)
                          + frame(9, b"mid") + frame(0, bytes(5000), fin=False) + frame(0, b"end")),
    "fragmented-text-masked": (SERVER | 0x21, frame(1, "h\u00e9".encode(), fin=False, mask=M)
                               + frame(0, "llo \u20ac\U0001F600".encode(), mask=M) + frame(10, b"pong", mask=M)),
    "too-big-127": (0, frame(2, b"")[:1] + bytes([127]) + struct.pack(">Q", 2 << 20)),
    "nonminimal-126": (0, bytes([0x82, 126, 0, 5]) + b"hello"),
    "close-reason": (0x05, frame(8, struct.pack(">H", 4000) + "caf\u00e9".encode()) + frame(1, b"after close")),
    "close-bad-reason": (0, frame(8, struct.pack(">H", 1000) + b"\xc3")),
}
for name, (control, data) in frames.items():
    write("frames", name, control, data)
