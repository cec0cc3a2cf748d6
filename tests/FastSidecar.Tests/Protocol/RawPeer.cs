using System.Buffers;
using System.Net.Sockets;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

/// <summary>A blocking WebSocket endpoint built from FrameReader and FrameWriter over a raw stream, for interop tests.</summary>
internal sealed class RawPeer : IDisposable
{
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;
    private readonly bool _mask;
    private readonly MaskKeySource _keys = new();
    private readonly ArrayBufferWriter<byte> _output = new();
    private readonly byte[] _input = new byte[64 * 1024];
    private int _start;
    private int _end;

    public RawPeer(NetworkStream stream, WebSocketRole role, SidecarBufferPool pool)
    {
        _stream = stream;
        Pool = pool;
        _mask = role == WebSocketRole.Client;
        _reader = new FrameReader(role, 32 << 20, pool);
    }

    public SidecarBufferPool Pool { get; }

    public void Send(Opcode opcode, bool fin, ReadOnlySpan<byte> payload)
    {
        _output.ResetWrittenCount();
        FrameWriter.WriteFrame(_output, opcode, fin, payload, _mask, _mask ? _keys.NextKey() : 0);
        _stream.Write(_output.WrittenSpan);
    }

    public void SendClose(ushort code, ReadOnlySpan<byte> reason)
    {
        _output.ResetWrittenCount();
        FrameWriter.WriteClose(_output, code, reason, _mask, _mask ? _keys.NextKey() : 0);
        _stream.Write(_output.WrittenSpan);
    }

    /// <summary>Blocks until the reader reports an event; message buffers go back to the pool after copying.</summary>
    public ReadEvent Receive()
    {
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_input, _start, _end - _start);
            FrameReadStatus status = _reader.Read(ref sequence, out InboundMessage message);
            _start = _end - (int)sequence.Length;
            switch (status)
            {
                case FrameReadStatus.Message:
                    byte[] copy = message.Span.ToArray();
                    Pool.Return(message.Buffer);
                    return new ReadEvent(status, message.Type, copy);
                case FrameReadStatus.Close:
                    return new ReadEvent(status, null, _reader.CloseReason.ToArray(), _reader.CloseCode);
                case FrameReadStatus.Ping or FrameReadStatus.Pong:
                    return new ReadEvent(status, null, _reader.ControlPayload.ToArray());
            }

            // Only a partial header can be left over; move it to the front and read more behind it.
            _input.AsSpan(_start, _end - _start).CopyTo(_input);
            _end -= _start;
            _start = 0;
            int read = _stream.Read(_input, _end, _input.Length - _end);
            if (read == 0)
            {
                throw new EndOfStreamException("The peer closed the connection.");
            }

            _end += read;
        }
    }

    public void Dispose() => _reader.Dispose();
}
