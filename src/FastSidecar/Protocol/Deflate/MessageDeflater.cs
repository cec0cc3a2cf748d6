using System.Diagnostics;
using System.Runtime.InteropServices;
using FastSidecar.Buffers;
using static FastSidecar.Protocol.Deflate.ZLibNative;

namespace FastSidecar.Protocol.Deflate;

/// <summary>
/// Compresses whole messages for permessage-deflate (RFC 7692 §7.2.1): raw DEFLATE, flushed with Z_SYNC_FLUSH, the
/// trailing <c>00 00 FF FF</c> removed.
/// </summary>
/// <remarks>
/// Loop thread only. The zlib state lives in native memory from <see cref="Start"/> to <see cref="Stop"/>; the output
/// buffer is rented from the session's pool on first use, grows by doubling and goes back in <see cref="Stop"/>, so
/// in steady state a message costs no allocation. zlib refuses a raw 8-bit window, so 8 is served with a 9-bit
/// one: zlib never emits a distance beyond its window minus 262 bytes, 250 here, which an 8-bit inflater accepts.
/// </remarks>
internal sealed unsafe class MessageDeflater : IDisposable
{
    private const int CompressionLevel = 6; // zlib's default, as ClientWebSocket and the common servers use
    private const int InitialOutput = 4096;

    private static ReadOnlySpan<byte> EmptyMessage => [0x00];

    private ZStream* _stream;
    private bool _live;
    private int _windowBits;
    private bool _contextTakeover;
    private SidecarBufferPool? _pool;
    private byte[]? _output;

    /// <summary>Sets up a fresh compressor.</summary>
    /// <param name="windowBits">The negotiated client_max_window_bits, 8–15.</param>
    /// <param name="contextTakeover">False to compress every message with a fresh context.</param>
    /// <param name="pool">Where the output buffer is rented.</param>
    public void Start(int windowBits, bool contextTakeover, SidecarBufferPool pool)
    {
        Debug.Assert(!_live);
        _windowBits = Math.Max(windowBits, 9);
        _contextTakeover = contextTakeover;
        _pool = pool;
        Init();
    }

    /// <summary>
    /// Compresses one message. The result lives in this deflater's buffer until the next call.
    /// </summary>
    public ReadOnlySpan<byte> Compress(ReadOnlySpan<byte> payload)
    {
        Debug.Assert(_live && _pool is not null);
        if (payload.IsEmpty)
        {
            // zlib emits nothing for a second flush without input; an empty stored block at a block boundary is the
            // RFC's own encoding of an empty message (§7.2.3.6) and leaves both windows as they are.
            return EmptyMessage;
        }

        // Stored blocks cost 5 bytes per 64 KiB, and the flush at most 6 more: a first guess that is almost never short.
        EnsureOutput(payload.Length + (payload.Length >> 10) + 64, 0);
        int written = 0;
        fixed (byte* input = payload)
        {
            _stream->NextIn = input;
            _stream->AvailIn = (uint)payload.Length;
            while (true)
            {
                fixed (byte* output = _output)
                {
                    _stream->NextOut = output + written;
                    _stream->AvailOut = (uint)(_output!.Length - written);
                    int result = ZLibNative.Deflate(_stream, SyncFlush);
                    written = _output.Length - (int)_stream->AvailOut;
                    if (result is not (Ok or BufError))
                    {
                        throw new InvalidOperationException($"zlib deflate failed ({result}).");
                    }
                }

                // With a sync flush, output space left over means every input byte went out and the flush is complete.
                if (_stream->AvailOut != 0)
                {
                    break;
                }

                EnsureOutput(_output.Length * 2, written);
            }

            _stream->NextIn = null;
            _stream->NextOut = null;
        }

        Debug.Assert(written >= 4 && _output.AsSpan(written - 4, 4).SequenceEqual(PerMessageDeflate.Tail));
        if (!_contextTakeover)
        {
            // No reset export exists, so a fresh context is a fresh stream; native memory only, nothing managed.
            End();
            Init();
        }

        return _output.AsSpan(0, written - 4);
    }

    /// <summary>Frees the native state and returns the output buffer; the deflater can be started again.</summary>
    public void Stop()
    {
        End();
        if (_output is not null)
        {
            _pool!.Return(_output);
            _output = null;
        }

        _pool = null;
    }

    /// <summary>Frees the native struct itself; only for a deflater leaving the pool for good.</summary>
    public void Dispose()
    {
        Stop();
        if (_stream is not null)
        {
            NativeMemory.Free(_stream);
            _stream = null;
        }
    }

    private void Init()
    {
        if (_stream is null)
        {
            _stream = (ZStream*)NativeMemory.AllocZeroed((nuint)sizeof(ZStream));
        }

        *_stream = default;
        int result = DeflateInit2(_stream, CompressionLevel, Deflated, -_windowBits, DefaultMemLevel, DefaultStrategy);
        if (result != Ok)
        {
            throw new InvalidOperationException($"zlib deflateInit2 failed ({result}).");
        }

        _live = true;
    }

    private void End()
    {
        if (_live)
        {
            _ = DeflateEnd(_stream); // Z_DATA_ERROR only says output was pending; the state is freed either way
            _live = false;
        }
    }

    private void EnsureOutput(int size, int keep)
    {
        if (_output is not null && _output.Length >= size)
        {
            return;
        }

        byte[] grown = _pool!.Rent(Math.Max(size, InitialOutput));
        if (_output is not null)
        {
            _output.AsSpan(0, keep).CopyTo(grown);
            _pool.Return(_output);
        }

        _output = grown;
    }
}
