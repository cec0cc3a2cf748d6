using System.Diagnostics;
using System.Runtime.InteropServices;
using static FastSidecar.Protocol.Deflate.ZLibNative;

namespace FastSidecar.Protocol.Deflate;

/// <summary>
/// Inflates the payload of compressed messages (RFC 7692 §7.2.2) piece by piece, into space the caller owns, so the
/// caller decides how far a message may grow and can stop a decompression bomb at its limit.
/// </summary>
/// <remarks>
/// Loop thread only. Each call inflates until the input is used up or the destination is full, whichever comes
/// first; zlib may hold back output when the destination fills, so the caller keeps calling (with no input) while
/// the destination comes back full. A peer that ends its stream with a final block (§7.2.3.3) is accepted: the
/// stream is reset for the next message, losing the context (the peers we know never do this with context takeover).
/// </remarks>
internal sealed unsafe class MessageInflater : IDisposable
{
    private ZStream* _stream;
    private bool _live;
    private int _windowBits;
    private bool _contextTakeover;
    private bool _streamEnded;

    /// <summary>Sets up a fresh inflater for the server's negotiated window and context rule.</summary>
    public void Start(int windowBits, bool contextTakeover)
    {
        Debug.Assert(!_live);
        // A larger window accepts everything a smaller one does; 9 keeps clear of zlib builds that refuse a raw 8.
        _windowBits = Math.Max(windowBits, 9);
        _contextTakeover = contextTakeover;
        if (_stream is null)
        {
            _stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        }

        *_stream = default;
        int result = InflateInit2(_stream, -_windowBits);
        if (result != Ok)
        {
            throw new InvalidOperationException($"zlib inflateInit2 failed ({result}).");
        }

        _live = true;
        _streamEnded = false;
    }

    /// <summary>
    /// Inflates from <paramref name="input"/> into <paramref name="destination"/>.
    /// </summary>
    /// <param name="input">Compressed bytes; on return, sliced past what was consumed.</param>
    /// <param name="destination">Where inflated bytes go.</param>
    /// <returns>The number of bytes written to <paramref name="destination"/>.</returns>
    /// <exception cref="WebSocketProtocolException">1007: the bytes are not a valid DEFLATE stream, or continue past its end.</exception>
    public int Inflate(ref ReadOnlySpan<byte> input, scoped Span<byte> destination)
    {
        Debug.Assert(_live);
        if (_streamEnded)
        {
            if (!input.IsEmpty)
            {
                throw Corrupt("Compressed data continued after the final DEFLATE block.");
            }

            return 0;
        }

        fixed (byte* inPtr = input)
        fixed (byte* outPtr = destination)
        {
            _stream->NextIn = inPtr;
            _stream->AvailIn = (uint)input.Length;
            _stream->NextOut = outPtr;
            _stream->AvailOut = (uint)destination.Length;
            int result = ZLibNative.Inflate(_stream, NoFlush);
            int consumed = input.Length - (int)_stream->AvailIn;
            int written = destination.Length - (int)_stream->AvailOut;
            _stream->NextIn = null;
            _stream->NextOut = null;
            switch (result)
            {
                case Ok:
                case BufError: // no progress possible: nothing left to read or no room to write; not an error here
                    break;
                case StreamEnd:
                    _streamEnded = true;
                    break;
                case DataError:
                    throw Corrupt("The compressed message is not a valid DEFLATE stream.");
                default:
                    throw new InvalidOperationException($"zlib inflate failed ({result}).");
            }

            input = input[consumed..];
            return written;
        }
    }

    /// <summary>True once the peer's stream ended with a final block: the rest of the message must be empty.</summary>
    public bool StreamEnded => _streamEnded;

    /// <summary>After a whole message: drops the context when the server does not keep it (or ended its stream).</summary>
    public void EndMessage()
    {
        Debug.Assert(_live);
        if (!_contextTakeover || _streamEnded)
        {
            Reset();
        }
    }

    /// <summary>Forgets the stream (a message abandoned half-way leaves it mid-block).</summary>
    public void Reset()
    {
        int result = InflateReset2(_stream, -_windowBits);
        Debug.Assert(result == Ok);
        _streamEnded = false;
    }

    /// <summary>Frees the native state; the inflater can be started again.</summary>
    public void Stop()
    {
        if (_live)
        {
            _ = InflateEnd(_stream); // only fails for a stream that was never set up
            _live = false;
        }
    }

    /// <summary>Frees the native struct itself; only for an inflater leaving the pool for good.</summary>
    public void Dispose()
    {
        Stop();
        if (_stream is not null)
        {
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }

    private static WebSocketProtocolException Corrupt(string message) => new(WebSocketCloseCode.InvalidPayloadData, message);
}
