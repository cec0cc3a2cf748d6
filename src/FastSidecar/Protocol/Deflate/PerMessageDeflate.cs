using FastSidecar.Buffers;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Protocol.Deflate;

/// <summary>
/// One connection's permessage-deflate state: the compressor for what we send and the inflater for what we receive,
/// set up for the negotiated parameters. Rented from <see cref="PerMessageDeflatePool"/> when a connection opens
/// with the extension and returned when the session finishes, on every path.
/// </summary>
/// <remarks>Loop thread only while rented; the pool hands it from one session to the next.</remarks>
internal sealed class PerMessageDeflate : IDisposable
{
    /// <summary>The bytes a sync flush ends with: removed before sending, put back before inflating (RFC 7692 §7.2.1, §7.2.2).</summary>
    public static ReadOnlySpan<byte> Tail => [0x00, 0x00, 0xFF, 0xFF];

    /// <summary>Compresses what we send.</summary>
    public MessageDeflater Deflater { get; } = new();

    /// <summary>Inflates what we receive.</summary>
    public MessageInflater Inflater { get; } = new();

    /// <summary>Both directions set up fresh for <paramref name="parameters"/>.</summary>
    public void Start(in DeflateParameters parameters, SidecarBufferPool pool)
    {
        Deflater.Start(parameters.ClientMaxWindowBits, parameters.ClientContextTakeover, pool);
        Inflater.Start(parameters.ServerMaxWindowBits, parameters.ServerContextTakeover);
    }

    /// <summary>Frees the zlib state and returns the output buffer, ready for the next rent.</summary>
    public void Stop()
    {
        Deflater.Stop();
        Inflater.Stop();
    }

    /// <summary>Frees everything, including the native structs.</summary>
    public void Dispose()
    {
        Deflater.Dispose();
        Inflater.Dispose();
    }
}
