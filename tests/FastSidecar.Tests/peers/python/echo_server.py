"""Echo peer for FastSidecar interop tests, built on Python's `websockets` (Debian's python3-websockets, 10.x API).

Protocol (shared with the Node and Kestrel peers; see Peers/EchoProtocol.cs):
  any binary message, or text not starting with "@@"  -> echoed unchanged, same type
  "@@fragment:<n>"          -> the NEXT echo goes out as n frames; websockets ends every fragmented message with an
                               empty FIN continuation, so the data is split into n-1 frames followed by that empty one;
                               text is split between characters (the library sends str fragments), never inside one
  "@@ping:<payload>"        -> sends a ping with that payload; the matching pong is reported back as text "@@pong:<payload>"
  "@@close:<code>:<reason>" -> starts the close handshake with that status; bare "@@close" closes with 1000
  "@@terminate"             -> drops the TCP connection without a close frame
  any other "@@..." text    -> echoed unchanged
A request the library refuses (ping over 125 bytes, invalid close code) is answered with text "@@error:<message>".
Prints "LISTENING <port>" once bound; exits when stdin closes so a crashed test run cannot leak it.
"""

import asyncio
import os
import signal
import sys
import threading

try:
    import websockets
except ImportError as err:
    sys.stderr.write(f"PEER-MISSING Python package 'websockets' is not installed ({err}); run ./test.sh\n")
    sys.stderr.flush()
    sys.exit(3)

PREFIX = "@@"


def split(data, parts):
    size = -(-len(data) // parts) if data else 0
    return [data[i * size:(i + 1) * size] for i in range(parts)]


async def report_pong(ws, waiter, payload):
    try:
        await waiter
        await ws.send(PREFIX + "pong:" + payload)
    except Exception:  # the connection went away before the pong; nothing to report
        pass


async def handler(ws, path=None):
    fragment_next = 0
    pending = set()
    try:
        async for message in ws:
            if isinstance(message, str) and message.startswith(PREFIX):
                body = message[len(PREFIX):]
                try:
                    if body.startswith("fragment:"):
                        try:
                            fragment_next = max(1, int(body[len("fragment:"):]))
                        except ValueError:
                            fragment_next = 1
                        continue
                    if body.startswith("ping:"):
                        payload = body[len("ping:"):]
                        waiter = await ws.ping(payload.encode("utf-8"))
                        task = asyncio.ensure_future(report_pong(ws, waiter, payload))
                        pending.add(task)
                        task.add_done_callback(pending.discard)
                        continue
                    if body == "close":
                        await ws.close()
                        continue
                    if body.startswith("close:"):
                        code, _, reason = body[len("close:"):].partition(":")
                        await ws.close(int(code), reason)
                        continue
                    if body == "terminate":
                        ws.transport.abort()
                        continue
                except websockets.ConnectionClosed:
                    raise
                except Exception as err:  # the library refused the request
                    await ws.send(PREFIX + "error:" + str(err))
                    continue
            if fragment_next > 1:
                parts = split(message, fragment_next - 1)
                fragment_next = 0
                await ws.send(parts)
            else:
                fragment_next = 0
                await ws.send(message)
    except websockets.ConnectionClosed:
        pass


def exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:
        pass
    os._exit(0)


async def main():
    # "--tls CERT KEY" serves wss:// with that PEM certificate and key.
    tls = None
    if "--tls" in sys.argv:
        import ssl
        at = sys.argv.index("--tls")
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(sys.argv[at + 1], sys.argv[at + 2])
    async with websockets.serve(
        handler,
        "127.0.0.1",
        0,
        ssl=tls,
        max_size=None,
        max_queue=None,
        ping_interval=None,
        # ECHO_DEFLATE=1 turns on the library's default: permessage-deflate, as most Python servers run.
        compression="deflate" if os.environ.get("ECHO_DEFLATE") else None,
        close_timeout=5,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"LISTENING {port}\n")
        sys.stdout.flush()
        await asyncio.Future()


if __name__ == "__main__":
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())
