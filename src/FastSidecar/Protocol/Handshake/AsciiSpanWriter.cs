using System.Buffers;
using System.Diagnostics;
using System.Text;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// Appends ASCII text to a span the caller has sized in advance. The handshake computes its exact length first,
/// asks the <see cref="System.Buffers.IBufferWriter{T}"/> for one span and writes into it, so no intermediate
/// string or array is built per request.
/// </summary>
internal ref struct AsciiSpanWriter
{
    private readonly Span<byte> _destination;
    private int _position;

    public AsciiSpanWriter(Span<byte> destination)
    {
        _destination = destination;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void Write(scoped ReadOnlySpan<byte> ascii)
    {
        ascii.CopyTo(_destination[_position..]);
        _position += ascii.Length;
    }

    /// <summary>Writes text already checked to be ASCII by the caller.</summary>
    public void Write(string ascii)
    {
        OperationStatus status = Ascii.FromUtf16(ascii, _destination[_position..], out int written);
        Debug.Assert(status == OperationStatus.Done, "Text was validated as ASCII before it got here.");
        _position += written;
    }
}
