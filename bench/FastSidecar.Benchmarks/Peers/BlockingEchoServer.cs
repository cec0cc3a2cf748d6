using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// A peer the library does not drive: a plain blocking echo server, one thread per connection, written the way a
/// straightforward server is written on <see cref="Socket"/> (blocking <c>recv</c>, one <c>send</c> per frame). It
/// shares the process with the client but none of the client's threads, so a client that spins against it competes
/// for cores with a thread it cannot see. Echoes data frames unmasked, answers pings, echoes a close and hangs up.
/// A text message <c>@@flood:N:S</c> (the Node peer's command too) is answered with N binary messages of S bytes,
/// each starting with a little-endian 64-bit sequence number when S is at least 8, framed into large sends as a
/// server that streams would write them.
/// </summary>
public sealed class BlockingEchoServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly Thread _acceptThread;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Socket, byte> _connections = new();

    /// <summary>Listens on <paramref name="port"/>; 0 for any free one (a restarted server passes its old port).</summary>
    public BlockingEchoServer(int port = 0)
    {
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _listener.Listen(128);
        Uri = new Uri($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}/");
        _acceptThread = new Thread(Accept) { IsBackground = true, Name = "blocking echo accept" };
        _acceptThread.Start();
    }

    public Uri Uri { get; }

    /// <summary>Stops listening and drops every connection, as a server process that dies would.</summary>
    public void Dispose()
    {
        _listener.Dispose();
        _acceptThread.Join(TimeSpan.FromSeconds(5));
        foreach (Socket connection in _connections.Keys)
        {
            connection.Dispose(); // its serving thread's next receive fails and it ends
        }
    }

    private void Accept()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = _listener.Accept();
            }
            catch (SocketException)
            {
                return; // the listener was disposed
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            connection.NoDelay = true;
            _connections[connection] = 0;
            new Thread(() =>
            {
                Serve(connection);
                _connections.TryRemove(connection, out _);
            }) { IsBackground = true, Name = "blocking echo" }.Start();
        }
    }

    private static void Serve(Socket socket)
    {
        using (socket)
        {
            byte[] buffer = new byte[1 << 20];
            byte[] output = new byte[(1 << 20) + FrameHeader.MaxLength];
            try
            {
                int length = Handshake(socket, buffer);
                long sequence = 0;
                while (true)
                {
                    // Parse every whole frame held, then read more; a frame larger than the buffer ends the session.
                    int offset = 0;
                    while (FrameHeader.TryRead(buffer.AsSpan(offset, length - offset), out FrameHeader header, out int headerLength)
                        && length - offset - headerLength >= header.PayloadLength)
                    {
                        Span<byte> payload = buffer.AsSpan(offset + headerLength, (int)header.PayloadLength);
                        Masking.Apply(payload, header.MaskKey, 0);
                        offset += headerLength + payload.Length;
                        if (FloodRequest.TryParse(header.Opcode, payload, out long count, out int size))
                        {
                            SendFlood(socket, output, count, size, ref sequence);
                        }
                        else if (header.Opcode != Opcode.Pong)
                        {
                            Opcode reply = header.Opcode == Opcode.Ping ? Opcode.Pong : header.Opcode;
                            socket.Send(output, 0, Frame(output, reply, header.Fin, payload), SocketFlags.None);
                        }

                        if (header.Opcode == Opcode.Close)
                        {
                            socket.Shutdown(SocketShutdown.Both);
                            return;
                        }
                    }

                    buffer.AsSpan(offset, length - offset).CopyTo(buffer);
                    length -= offset;
                    int n = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
                    if (n == 0 || length + n == buffer.Length)
                    {
                        return;
                    }

                    length += n;
                }
            }
            catch (SocketException)
            {
            }
        }
    }

    /// <summary>Writes <paramref name="count"/> binary frames of <paramref name="size"/> bytes, as many per send as fit in <paramref name="output"/>.</summary>
    private static void SendFlood(Socket socket, byte[] output, long count, int size, ref long sequence)
    {
        var header = new FrameHeader(fin: true, 0, Opcode.Binary, masked: false, 0, size);
        int headerLength = header.Write(output);
        int frameLength = headerLength + size;
        int perSend = Math.Max(1, output.Length / frameLength);
        output.AsSpan(headerLength, size).Clear();
        while (count > 0)
        {
            int frames = (int)Math.Min(count, perSend);
            for (int i = 0; i < frames; i++)
            {
                Span<byte> frame = output.AsSpan(i * frameLength, frameLength);
                if (i > 0)
                {
                    output.AsSpan(0, frameLength).CopyTo(frame);
                }

                if (size >= sizeof(long))
                {
                    System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(frame[headerLength..], sequence);
                }

                sequence++;
            }

            int total = frames * frameLength;
            for (int sent = 0; sent < total;)
            {
                sent += socket.Send(output, sent, total - sent, SocketFlags.None);
            }

            count -= frames;
        }
    }

    private static int Frame(byte[] output, Opcode opcode, bool fin, ReadOnlySpan<byte> payload)
    {
        var header = new FrameHeader(fin, 0, opcode, masked: false, 0, payload.Length);
        int headerLength = header.Write(output);
        payload.CopyTo(output.AsSpan(headerLength));
        return headerLength + payload.Length;
    }

    /// <summary>Answers the upgrade request; returns how many bytes after it are already in <paramref name="buffer"/>.</summary>
    private static int Handshake(Socket socket, byte[] buffer)
    {
        int length = 0;
        while (true)
        {
            int n = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            if (n == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            length += n;
            var sequence = new ReadOnlySequence<byte>(buffer, 0, length);
            if (ServerHandshake.TryReadRequest(ref sequence, 16 * 1024, out ServerHandshakeRequest request))
            {
                var answer = new ArrayBufferWriter<byte>(256);
                ServerHandshake.WriteAccept(answer, request, subProtocol: null);
                socket.Send(answer.WrittenSpan);
                int rest = (int)sequence.Length;
                buffer.AsSpan(length - rest, rest).CopyTo(buffer);
                return rest;
            }
        }
    }
}
