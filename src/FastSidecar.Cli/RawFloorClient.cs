using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Cli;

/// <summary>
/// The physical floor of an echo round trip: one plain socket, a pre-built masked frame, and a busy-polling read of
/// the echo on the calling thread. No queues, no second thread, no wake-ups: what is left is the kernel and the server.
/// </summary>
/// <remarks>Single-threaded; the caller's thread spins for the whole round trip.</remarks>
internal sealed class RawFloorClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _frame;     // one masked binary frame, sent again and again
    private readonly byte[] _echo;      // the expected echo: unmasked header + payload
    private readonly byte[] _received;

    private RawFloorClient(Socket socket, byte[] frame, byte[] echo)
    {
        _socket = socket;
        _frame = frame;
        _echo = echo;
        _received = new byte[echo.Length];
    }

    /// <summary>Connects to the echo server at <paramref name="uri"/> (an IP literal), completes the handshake, and builds the frame.</summary>
    public static RawFloorClient Connect(Uri uri, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > 125)
        {
            throw new ArgumentOutOfRangeException(nameof(payload), "The floor client reads only echoes with a 2-byte header.");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port));
            Handshake(socket, uri);
            socket.Blocking = false;

            var frame = new ArrayBufferWriter<byte>(payload.Length + FrameHeader.MaxLength);
            FrameWriter.WriteFrame(frame, Opcode.Binary, fin: true, payload, mask: true, RandomNumberGenerator.GetInt32(int.MinValue, int.MaxValue));
            var echo = new byte[2 + payload.Length];
            echo[0] = 0b_1_000_0010; // FIN, binary
            echo[1] = (byte)payload.Length;
            payload.CopyTo(echo.AsSpan(2));
            return new RawFloorClient(socket, frame.WrittenSpan.ToArray(), echo);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the frame and spins until its echo is back; throws if the echo is not exactly the frame's payload.</summary>
    public void RoundTrip()
    {
        int sent = 0;
        while (sent < _frame.Length)
        {
            int count = _socket.Send(_frame, sent, _frame.Length - sent, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                sent += count;
            }
            else if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }

        int received = 0;
        while (received < _received.Length)
        {
            int count = _socket.Receive(_received, received, _received.Length - received, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                if (count == 0)
                {
                    throw new IOException("The echo server closed the connection.");
                }

                received += count;
            }
            else if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }

        if (!_received.AsSpan().SequenceEqual(_echo))
        {
            throw new IOException("The echo differs from the frame sent.");
        }
    }

    public void Dispose() => _socket.Dispose();

    private static void Handshake(Socket socket, Uri uri)
    {
        var handshake = new ClientHandshake(uri, [], []);
        var request = new ArrayBufferWriter<byte>(512);
        handshake.WriteRequest(request);
        socket.Send(request.WrittenSpan);

        byte[] response = new byte[ClientHandshake.DefaultMaxHeaderBytes];
        int filled = 0;
        while (true)
        {
            int count = socket.Receive(response, filled, response.Length - filled, SocketFlags.None);
            if (count == 0)
            {
                throw new IOException("The echo server closed the connection during the handshake.");
            }

            filled += count;
            var buffer = new ReadOnlySequence<byte>(response, 0, filled);
            if (handshake.TryReadResponse(ref buffer, out _))
            {
                if (!buffer.IsEmpty)
                {
                    throw new IOException("The echo server sent data right after its handshake.");
                }

                return;
            }

            if (filled == response.Length)
            {
                throw new IOException("The echo server's handshake response is too large.");
            }
        }
    }
}
