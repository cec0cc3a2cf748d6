using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Benchmarks.Lifecycle;

/// <summary>
/// The cycle floor: the least a client of any design can do for one connect + close cycle against one peer, on one
/// thread with one blocking <see cref="Socket"/>. The upgrade request (with a fixed key) and the masked close frame
/// (1000) are built once; a cycle is <c>connect</c>, one <c>send</c> of the request, reads up to the end of the 101
/// header block (the status line is checked; the headers and the accept value are not), one <c>send</c> of the close,
/// reads until the peer's close and then its FIN, and <c>close</c>. No key generation, no header validation, no loop
/// thread, no task. What any client can reach against a peer is bounded by this rate: if it is not 2 ×
/// <c>ClientWebSocket</c>, the peer's own cost per connection (or the machine), not the client, caps the ratio.
/// </summary>
/// <remarks>Not thread-safe: one receive buffer, used by one cycle at a time.</remarks>
internal sealed class RawCycleFloor
{
    // Bounds every receive, so a peer that stops answering fails the run instead of hanging it.
    private const int ReceiveTimeoutMs = 10_000;

    private readonly IPEndPoint _endPoint;
    private readonly byte[] _request;
    private readonly byte[] _closeFrame;
    private readonly byte[] _buffer = new byte[4096];

    public RawCycleFloor(Uri uri)
    {
        _endPoint = new IPEndPoint(IPAddress.Loopback, uri.Port);
        var request = new ArrayBufferWriter<byte>(512);
        // RFC 6455 §1.3's sample nonce: a valid key that never changes, so the request is built once.
        new ClientHandshake(uri, [], []).WriteRequest(request, "the sample nonce"u8);
        _request = request.WrittenSpan.ToArray();
        var close = new ArrayBufferWriter<byte>(16);
        FrameWriter.WriteClose(close, (ushort)WebSocketCloseCode.NormalClosure, default, mask: true, new MaskKeySource().NextKey());
        _closeFrame = close.WrittenSpan.ToArray();
    }

    /// <summary>Connects and upgrades; returns once the whole 101 header block has arrived.</summary>
    /// <exception cref="InvalidOperationException">The peer answered with anything but 101, or sent data after it.</exception>
    public Socket Open()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = ReceiveTimeoutMs,
        };
        try
        {
            socket.Connect(_endPoint);
            socket.Send(_request);
            int length = 0, blockLength, statusLineLength;
            do
            {
                length += ReceiveSome(socket, length);
            }
            while (!HttpHeaderBlock.TryFindEnd(new ReadOnlySequence<byte>(_buffer, 0, length), _buffer.Length, out blockLength, out statusLineLength));

            ReadOnlySpan<byte> statusLine = _buffer.AsSpan(0, statusLineLength);
            if (!statusLine.StartsWith("HTTP/1.1 101"u8) || (statusLine.Length > 12 && statusLine[12] != (byte)' '))
            {
                throw new InvalidOperationException($"The peer at {_endPoint} answered the upgrade with \"{Encoding.ASCII.GetString(statusLine)}\".");
            }

            if (blockLength != length)
            {
                throw new InvalidOperationException($"The peer at {_endPoint} sent data before the first message.");
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The closing handshake on a socket from <see cref="Open"/>: sends the close, reads the peer's close, then waits for
    /// the peer's FIN (RFC 6455 §7.1.1: the server closes the TCP connection first) and closes the socket.
    /// </summary>
    /// <returns>True when the peer's close carried 1000 (normal closure).</returns>
    /// <exception cref="InvalidOperationException">The peer sent anything but one close frame and a FIN.</exception>
    public bool Close(Socket socket)
    {
        try
        {
            socket.Send(_closeFrame);
            int length = 0;
            FrameHeader header;
            int headerLength;
            while (!FrameHeader.TryRead(_buffer.AsSpan(0, length), out header, out headerLength) || length - headerLength < header.PayloadLength)
            {
                length += ReceiveSome(socket, length);
            }

            if (header.Opcode != Opcode.Close || header.Masked || length != headerLength + header.PayloadLength)
            {
                throw new InvalidOperationException($"The peer at {_endPoint} answered the close with a {header.Opcode} frame of {header.PayloadLength} bytes (masked: {header.Masked}) and {length - headerLength - header.PayloadLength} bytes after it.");
            }

            if (socket.Receive(_buffer) != 0)
            {
                throw new InvalidOperationException($"The peer at {_endPoint} sent data after its close frame.");
            }

            return header.PayloadLength >= 2
                && BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(headerLength)) == (ushort)WebSocketCloseCode.NormalClosure;
        }
        finally
        {
            socket.Dispose();
        }
    }

    private int ReceiveSome(Socket socket, int length)
    {
        if (length == _buffer.Length)
        {
            throw new InvalidOperationException($"The peer at {_endPoint} sent more than {_buffer.Length} bytes without finishing.");
        }

        int n = socket.Receive(_buffer, length, _buffer.Length - length, SocketFlags.None);
        if (n == 0)
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }

        return n;
    }
}
