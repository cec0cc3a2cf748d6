using System.Diagnostics;
using Microsoft.Extensions.ObjectPool;

namespace FastSidecar.Buffers;

/// <summary>
/// One pooled array holding the payloads of many received messages of one read burst, laid out back to back, and
/// returned to its pool once: when the loop has sealed it and every message in it has been released.
/// </summary>
/// <remarks>
/// <para>
/// Why: a flood of small messages paid, per message, a rent and a return that crossed threads and a lease object
/// taken from and given back to a shared pool. A block pays those once per burst; a message costs a slot.
/// </para>
/// <para>
/// The count. While the loop is still filling the block, <c>_references</c> holds <see cref="Unsealed"/> minus the
/// releases so far, which cannot reach zero (a block holds at most <see cref="MaxMessages"/> messages). Sealing adds
/// the number of messages issued and takes <see cref="Unsealed"/> away, leaving exactly the messages still out. So the
/// loop pays no interlocked operation per message, and whichever decrement (or the seal) reaches zero returns the
/// array, exactly once.
/// </para>
/// <para>
/// Each message has a slot with a generation; its first release moves that generation on by one compare-and-swap, so
/// copies of a <see cref="ReceivedMessage"/> disposed twice, out of order or from several threads release it once.
/// Generations outlive the block's recycling (the block object is pooled with them), so a stale copy stays stale.
/// </para>
/// <para>Thread-safety: <see cref="Rent"/>, <see cref="GenerationOf"/> and <see cref="Seal"/> on the loop thread;
/// releases and <see cref="ArrayFor"/> from any thread.</para>
/// </remarks>
internal sealed class ReceiveBlock : PayloadOwner
{
    /// <summary>The most messages one block holds; the writer starts a new block when the slots run out.</summary>
    public const int MaxMessages = 1024;

    private const int Unsealed = 1 << 30;

    // Enough for several full receive queues of blocks in flight without a block object falling out of the pool.
    private static readonly ObjectPool<ReceiveBlock> s_blocks =
        new DefaultObjectPool<ReceiveBlock>(new DefaultPooledObjectPolicy<ReceiveBlock>(), 512);

    private readonly int[] _slotGenerations = new int[MaxMessages];
    private byte[]? _array;
    private SidecarBufferPool? _pool;
    private int _references;

    /// <summary>Loop thread: a block of at least <paramref name="minimumLength"/> bytes from <paramref name="pool"/>.</summary>
    public static ReceiveBlock Rent(SidecarBufferPool pool, int minimumLength)
    {
        ReceiveBlock block = s_blocks.Get();
        Debug.Assert(block._array is null);
        block._array = pool.Rent(minimumLength);
        block._pool = pool;
        Volatile.Write(ref block._references, Unsealed);
        return block;
    }

    /// <summary>Loop thread: the array the writer copies payloads into.</summary>
    public byte[] Array => _array!;

    /// <summary>Loop thread: the generation a message issued in <paramref name="slot"/> now carries.</summary>
    public int GenerationOf(int slot) => Volatile.Read(ref _slotGenerations[slot]);

    /// <summary>Loop thread: no message will be added; <paramref name="issued"/> were. The array goes back once they are released.</summary>
    public void Seal(int issued)
    {
        Debug.Assert(issued is >= 0 and <= MaxMessages);
        Settle(Interlocked.Add(ref _references, issued - Unsealed));
    }

    /// <inheritdoc/>
    public override byte[]? ArrayFor(int slot, int generation) =>
        Volatile.Read(ref _slotGenerations[slot]) == generation ? _array : null;

    /// <inheritdoc/>
    public override bool Release(int slot, int generation)
    {
        if (Interlocked.CompareExchange(ref _slotGenerations[slot], generation + 1, generation) != generation)
        {
            return false;
        }

        Settle(Interlocked.Decrement(ref _references));
        return true;
    }

    /// <summary>
    /// Ends the message in <paramref name="slot"/> without touching the count, for a caller that holds the only copy
    /// (a batch receive) and settles several at once through <see cref="ReleaseEnded"/>.
    /// </summary>
    public void EndExclusive(int slot, int generation)
    {
        Debug.Assert(Volatile.Read(ref _slotGenerations[slot]) == generation, "Only the holder of the only copy may end a message this way.");
        // A plain store suffices: the interlocked add in ReleaseEnded publishes it before the block can be recycled.
        _slotGenerations[slot] = generation + 1;
    }

    /// <summary>Settles <paramref name="count"/> messages ended through <see cref="EndExclusive"/>.</summary>
    public void ReleaseEnded(int count) => Settle(Interlocked.Add(ref _references, -count));

    private void Settle(int references)
    {
        Debug.Assert(references >= 0, "A block was released more often than it issued messages.");
        if (references != 0)
        {
            return;
        }

        byte[] array = _array!;
        SidecarBufferPool pool = _pool!;
        _array = null;
        _pool = null;
        pool.Return(array);
        s_blocks.Return(this);
    }
}
