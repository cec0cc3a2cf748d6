using FastSidecar.Protocol;
using FastSidecar.Protocol.Deflate;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Session;

internal sealed partial class WebSocketSession
{
    // permessage-deflate state while the extension is in force: rented when the handshake settles it, returned in
    // Finish (every path ends there exactly once). Loop thread only.
    private PerMessageDeflate? _deflate;

    /// <summary>
    /// Messages shorter than this go out uncompressed even when permessage-deflate is in force: below about a
    /// kilobyte the CPU costs more than the bytes saved. Set by the owner before the session starts.
    /// </summary>
    public int MinimumDeflateSize { get; init; } = 1024;

    /// <summary>True while permessage-deflate is in force on this connection.</summary>
    public bool IsDeflateNegotiated => _deflate is not null;

    private void StartDeflate(DeflateParameters? negotiated)
    {
        if (negotiated is { } parameters)
        {
            _deflate = PerMessageDeflatePool.Rent(parameters, _pool);
            _reader.EnablePerMessageDeflate(_deflate.Inflater);
        }
    }

    /// <summary>Writes a data message as one frame, compressed (RSV1) when the extension is in force and it is worth it.</summary>
    private void WriteDataFrame(Opcode opcode, ReadOnlySpan<byte> payload)
    {
        if (_deflate is null || payload.Length < MinimumDeflateSize)
        {
            WriteFrame(opcode, payload);
            return;
        }

        ReadOnlySpan<byte> compressed = _deflate.Deflater.Compress(payload);
        bool mask = _maskKeys is not null;
        FrameWriter.WriteFrame(_transport!.Output, opcode, fin: true, FrameReader.Rsv1, compressed, mask, mask ? _maskKeys!.NextKey() : 0);
    }

    private void ReleaseDeflate()
    {
        if (_deflate is not null)
        {
            PerMessageDeflatePool.Return(_deflate);
            _deflate = null;
        }
    }
}
