using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Throughput;

/// <summary>
/// The receive floor of a flood: one thread, one blocking socket, <c>recv</c> into one 64 KiB buffer, frame headers
/// parsed and messages counted, payloads never touched or copied. No queue, no second thread, no validation beyond the
/// header. What a WebSocket client of any design can take from the peer is bounded by this rate; if the floor is not
/// 2 × <c>ClientWebSocket</c>, the peer (or the machine), not the client, caps the ratio.
/// </summary>
internal sealed class RawFloodReader : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly byte[] _requestFrame;
    private int _held; // bytes of a frame not yet whole, kept at the start of the buffer

    public RawFloodReader(Uri uri, byte[] request)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            _socket.Connect(new IPEndPoint(IPAddress.Loopback, uri.Port));
            RawSocketContender.Handshake(_socket, uri);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        var writer = new ArrayBufferWriter<byte>(request.Length + FrameHeader.MaxLength);
        FrameWriter.WriteFrame(writer, Opcode.Text, fin: true, request, mask: true, new MaskKeySource().NextKey());
        _requestFrame = writer.WrittenSpan.ToArray();
    }

    /// <summary>Asks for <see cref="FloodRates.Batch"/> messages at a time and counts them until <paramref name="messages"/>; checks each payload's size.</summary>
    public void Flood(int size, long messages)
    {
        for (long taken = 0; taken < messages; taken += FloodRates.Batch)
        {
            _socket.Send(_requestFrame);
            for (int inBatch = 0; inBatch < FloodRates.Batch;)
            {
                inBatch += ReadFrames(size);
            }
        }
    }

    /// <summary>One <c>recv</c>, then every whole frame in the buffer; a partial frame moves to the front.</summary>
    private int ReadFrames(int size)
    {
        int n = _socket.Receive(_buffer, _held, _buffer.Length - _held, SocketFlags.None);
        if (n == 0)
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }

        int length = _held + n;
        int offset = 0;
        int frames = 0;
        while (FrameHeader.TryRead(_buffer.AsSpan(offset, length - offset), out FrameHeader header, out int headerLength)
            && length - offset - headerLength >= header.PayloadLength)
        {
            if (header.PayloadLength != size || header.Opcode != Opcode.Binary)
            {
                throw new InvalidOperationException($"A {header.Opcode} frame of {header.PayloadLength} bytes in a flood of {size}.");
            }

            offset += headerLength + size;
            frames++;
        }

        _held = length - offset;
        _buffer.AsSpan(offset, _held).CopyTo(_buffer);
        return frames;
    }

    public void Dispose() => RawSocketContender.SayGoodbye(_socket);
}
