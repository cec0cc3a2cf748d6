using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FastSidecar.Protocol;

/// <summary>
/// Masking keys for client frames (RFC 6455 §5.3: unpredictable, from a strong source of entropy).
/// </summary>
/// <remarks>
/// One <see cref="RandomNumberGenerator.Fill"/> call per 256 keys instead of per frame: the call has a fixed cost
/// (a system call on some platforms) that would otherwise dominate small sends. Not thread-safe: one per connection,
/// used on the loop thread.
/// </remarks>
internal sealed class MaskKeySource
{
    private const int BatchKeys = 256;
    private readonly byte[] _batch = new byte[BatchKeys * sizeof(int)];
    private int _next = BatchKeys; // starts exhausted so the first key triggers a fill

    public int NextKey()
    {
        if (_next == BatchKeys)
        {
            RandomNumberGenerator.Fill(_batch);
            _next = 0;
        }

        return BinaryPrimitives.ReadInt32LittleEndian(_batch.AsSpan(_next++ * sizeof(int)));
    }
}
