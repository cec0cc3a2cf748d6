using System.Diagnostics;

namespace FastSidecar.Buffers;

/// <summary>
/// Lays the payloads of one read burst out in <see cref="ReceiveBlock"/>s: the frame reader reserves room for a
/// message when its header arrives, copies the payload in as it arrives, and commits it when the frame ends.
/// </summary>
/// <remarks>
/// <para>
/// Only single-frame, uncompressed messages of 1 B to <see cref="MaxMessageLength"/> go into blocks; fragmented,
/// compressed, empty and large messages keep an array of their own, because their final size is unknown or a block
/// would be mostly one message. A new block is sized to what the burst still holds (at most
/// <see cref="MaxBlockLength"/>), so a lone message costs no more than an array of its own.
/// </para>
/// <para>
/// The writer lets go of its block at the end of every burst (<see cref="EndBurst"/>) unless a message is still being
/// written into it, so an idle connection holds no block and the block's array returns as soon as the application
/// has released what it received.
/// </para>
/// <para>Thread-safety: none; the loop thread only, like the frame reader that owns it.</para>
/// </remarks>
internal sealed class ReceiveBlockWriter(SidecarBufferPool pool) : IDisposable
{
    /// <summary>The largest block (the largest size class of <see cref="SizeClassArrayPool"/>).</summary>
    public const int MaxBlockLength = SizeClassArrayPool.MaxArrayLength;

    /// <summary>The largest message laid out in a block.</summary>
    public const int MaxMessageLength = 16 * 1024;

    private ReceiveBlock? _block;
    private int _used;
    private int _issued;
    private bool _reserved;

    /// <summary>True when a single-frame uncompressed message of <paramref name="length"/> bytes belongs in a block.</summary>
    public static bool Fits(long length) => length is > 0 and <= MaxMessageLength;

    /// <summary>
    /// Reserves <paramref name="length"/> bytes for the next message; <paramref name="bytesBuffered"/> (what the
    /// burst still holds, this frame included) sizes a new block.
    /// </summary>
    /// <returns>The array to write into, from <paramref name="offset"/>.</returns>
    public byte[] Reserve(int length, long bytesBuffered, out int offset)
    {
        Debug.Assert(!_reserved && Fits(length));
        if (_block is null || _used + length > _block.Array.Length || _issued == ReceiveBlock.MaxMessages)
        {
            Seal();
            _block = ReceiveBlock.Rent(pool, (int)Math.Clamp(bytesBuffered, length, MaxBlockLength));
            _used = 0;
            _issued = 0;
        }

        _reserved = true;
        offset = _used;
        return _block.Array;
    }

    /// <summary>The reserved message is complete: <paramref name="length"/> bytes; returns its block, slot and generation.</summary>
    public ReceiveBlock Commit(int length, out int slot, out int generation)
    {
        Debug.Assert(_reserved && _block is not null);
        _reserved = false;
        slot = _issued++;
        _used += length;
        generation = _block.GenerationOf(slot);
        return _block;
    }

    /// <summary>The reserved message will never complete (the reader is failing or being disposed); its room is simply unused.</summary>
    public void Abandon() => _reserved = false;

    /// <summary>The burst is parsed: lets go of the block unless a message is still being written into it.</summary>
    public void EndBurst()
    {
        if (!_reserved)
        {
            Seal();
        }
    }

    /// <summary>Lets go of the block; its array returns once the messages issued from it are released.</summary>
    public void Dispose()
    {
        _reserved = false;
        Seal();
    }

    private void Seal()
    {
        if (_block is not null)
        {
            _block.Seal(_issued);
            _block = null;
        }
    }
}
