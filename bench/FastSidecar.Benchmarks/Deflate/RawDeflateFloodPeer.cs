using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Deflate;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Benchmarks.Deflate;

/// <summary>
/// A server that costs the client-side measurement almost nothing: it accepts permessage-deflate with
/// <c>server_no_context_takeover</c>, so every message it sends can be compressed once, before the run, and written
/// as ready-made frames. <c>/flood/N</c>: after the client's first frame, N compressed messages. <c>/sink/N</c>: counts
/// N data messages from the client (headers parsed, payloads skipped, nothing inflated), then sends text "done".
/// </summary>
internal sealed class RawDeflateFloodPeer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly byte[] _floodFrames;
    private readonly int _framesPerCycle;
    private readonly Thread _acceptor;

    public RawDeflateFloodPeer(IReadOnlyList<byte[]> messages)
    {
        var pool = new SidecarBufferPool();
        using var deflater = new MessageDeflater();
        deflater.Start(15, contextTakeover: false, pool);
        var frames = new ArrayBufferWriter<byte>();
        foreach (byte[] message in messages)
        {
            FrameWriter.WriteFrame(frames, Opcode.Text, fin: true, FrameReader.Rsv1, deflater.Compress(message), mask: false, 0);
        }

        deflater.Stop();
        _floodFrames = frames.WrittenSpan.ToArray();
        _framesPerCycle = messages.Count;
        _listener.Start();
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "deflate flood peer" };
        _acceptor.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri FloodUri(long messages) => new($"ws://127.0.0.1:{Port}/flood/{messages}");

    public Uri SinkUri(long messages) => new($"ws://127.0.0.1:{Port}/sink/{messages}");

    public int FramesPerCycle => _framesPerCycle;

    public void Dispose() => _listener.Stop();

    private void Accept()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = _listener.AcceptSocket();
            }
            catch (SocketException)
            {
                return;
            }

            new Thread(() => Serve(socket)) { IsBackground = true, Name = "deflate flood connection" }.Start();
        }
    }

    private void Serve(Socket socket)
    {
        using (socket)
        {
            socket.NoDelay = true;
            byte[] buffer = new byte[256 * 1024];
            int filled = 0, end;
            while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                filled += socket.Receive(buffer.AsSpan(filled));
            }

            string request = Encoding.ASCII.GetString(buffer, 0, end);
            string path = request.Split(' ')[1];
            string key = request.Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase)).Split(':', 2)[1].Trim();
            byte[] accept = new byte[WebSocketAccept.AcceptLength];
            WebSocketAccept.Compute(Encoding.ASCII.GetBytes(key), accept);
            socket.Send(Encoding.ASCII.GetBytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
                + Encoding.ASCII.GetString(accept) + "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"));
            int start = end + 4;
            Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
            filled -= start;
            long count = long.Parse(path[(path.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                if (path.StartsWith("/flood/", StringComparison.Ordinal))
                {
                    SkipMessages(socket, buffer, ref filled, 1);
                    for (long sent = 0; sent < count; sent += _framesPerCycle)
                    {
                        socket.Send(_floodFrames);
                    }
                }
                else
                {
                    SkipMessages(socket, buffer, ref filled, count);
                    socket.Send([0x81, 0x04, (byte)'d', (byte)'o', (byte)'n', (byte)'e']);
                }

                SkipMessages(socket, buffer, ref filled, long.MaxValue); // until the client's close or TCP end
            }
            catch (SocketException)
            {
            }
            catch (EndOfStreamException)
            {
            }
        }
    }

    /// <summary>Reads client frames, counting FIN data frames, until <paramref name="messages"/> have passed; answers a close.</summary>
    private static void SkipMessages(Socket socket, byte[] buffer, ref int filled, long messages)
    {
        int offset = 0;
        long seen = 0;
        long skip = 0;
        while (seen < messages)
        {
            if (skip > 0)
            {
                int take = (int)Math.Min(skip, filled - offset);
                offset += take;
                skip -= take;
            }

            if (skip == 0 && FrameHeader.TryRead(buffer.AsSpan(offset, filled - offset), out FrameHeader header, out int headerLength))
            {
                offset += headerLength;
                skip = header.PayloadLength;
                if (header.Opcode == Opcode.Close)
                {
                    socket.Send([0x88, 0x00]);
                    throw new EndOfStreamException();
                }

                if (header.Fin && header.Opcode is Opcode.Text or Opcode.Binary or Opcode.Continuation)
                {
                    seen++;
                }

                continue;
            }

            Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
            filled -= offset;
            offset = 0;
            int received = socket.Receive(buffer.AsSpan(filled));
            if (received == 0)
            {
                throw new EndOfStreamException();
            }

            filled += received;
        }

        Buffer.BlockCopy(buffer, offset, buffer, 0, filled - offset);
        filled -= offset;
        if (skip > 0)
        {
            // The last message's payload is still arriving; drop it as it comes.
            while (skip > 0)
            {
                int take = (int)Math.Min(skip, filled);
                Buffer.BlockCopy(buffer, take, buffer, 0, filled - take);
                filled -= take;
                skip -= take;
                if (skip > 0)
                {
                    int received = socket.Receive(buffer.AsSpan(filled));
                    if (received == 0)
                    {
                        throw new EndOfStreamException();
                    }

                    filled += received;
                }
            }
        }
    }
}
