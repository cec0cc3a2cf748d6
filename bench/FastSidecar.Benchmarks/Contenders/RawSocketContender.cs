using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Benchmarks.Contenders;

/// <summary>
/// The floors: the least work a WebSocket round trip can take from one thread. The frame is built and masked once in
/// <see cref="Prepare"/>; a round trip is one <c>send</c> and the reads that collect the echo, either blocking in
/// <c>recv</c> or spinning on a non-blocking socket. No parsing beyond the length check, no queue, no second thread.
/// </summary>
public sealed class RawSocketContender : Contender
{
    private readonly Socket _socket;
    private readonly bool _busyPoll;
    private readonly byte[] _receiveBuffer = new byte[64 * 1024 + 16];
    private byte[] _frame = [];
    private int _echoLength;

    public RawSocketContender(Uri uri, bool busyPoll)
    {
        _busyPoll = busyPoll;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            _socket.Connect(new IPEndPoint(IPAddress.Loopback, uri.Port));
            Handshake(_socket, uri);
            _socket.Blocking = !busyPoll;
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    public override ContenderKind Kind => _busyPoll ? ContenderKind.RawBusyPoll : ContenderKind.RawBlocking;

    public override void Prepare(ReadOnlyMemory<byte> payload)
    {
        base.Prepare(payload);
        var writer = new ArrayBufferWriter<byte>(payload.Length + FrameHeader.MaxLength);
        FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, payload.Span, mask: true, new MaskKeySource().NextKey());
        _frame = writer.WrittenSpan.ToArray();
        // The server's echo is unmasked: a 2-byte header up to 125 bytes of payload, 4 bytes up to 64 KiB.
        _echoLength = payload.Length + (payload.Length <= 125 ? 2 : 4);
    }

    public override void RoundTrip()
    {
        int sent = 0;
        while (sent < _frame.Length)
        {
            int n = _socket.Send(_frame, sent, _frame.Length - sent, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                sent += n;
            }
            else if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }

        int received = 0;
        while (received < _echoLength)
        {
            int n = _socket.Receive(_receiveBuffer, received, _receiveBuffer.Length - received, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                if (n == 0)
                {
                    throw new SocketException((int)SocketError.ConnectionReset);
                }

                received += n;
            }
            else if (error != SocketError.WouldBlock)
            {
                throw new SocketException((int)error);
            }
        }

        if (received != _echoLength || (_receiveBuffer[0] & 0x0F) != (byte)Opcode.Binary)
        {
            ThrowBadEcho(_echoLength, received);
        }
    }

    /// <summary>The opening handshake on a connected blocking socket; the server may not send data before it is asked.</summary>
    internal static void Handshake(Socket socket, Uri uri)
    {
        var handshake = new ClientHandshake(uri, [], []);
        var request = new ArrayBufferWriter<byte>(512);
        handshake.WriteRequest(request);
        socket.Send(request.WrittenSpan);
        byte[] response = new byte[4096];
        int length = 0;
        while (true)
        {
            int n = socket.Receive(response, length, response.Length - length, SocketFlags.None);
            if (n == 0)
            {
                throw new SocketException((int)SocketError.ConnectionReset);
            }

            length += n;
            var sequence = new ReadOnlySequence<byte>(response, 0, length);
            if (handshake.TryReadResponse(ref sequence, out _))
            {
                if (sequence.Length != 0)
                {
                    throw new InvalidOperationException("The server sent data before the first message.");
                }

                return;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        _socket.Blocking = true;
        SayGoodbye(_socket);
    }

    /// <summary>
    /// Sends a masked close frame (1000) and the FIN, so the server ends the session cleanly rather than on a reset,
    /// then disposes <paramref name="socket"/> (blocking). A server already gone is not an error here.
    /// </summary>
    internal static void SayGoodbye(Socket socket)
    {
        try
        {
            var writer = new ArrayBufferWriter<byte>(16);
            FrameWriter.WriteClose(writer, 1000, default, mask: true, new MaskKeySource().NextKey());
            socket.Send(writer.WrittenSpan);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }

        socket.Dispose();
    }
}
