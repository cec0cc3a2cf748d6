namespace FastSidecar.Buffers;

/// <summary>
/// Consecutive block messages released by one batch receive, counted so that a run of messages from the same
/// <see cref="ReceiveBlock"/> costs one interlocked operation on its count instead of one per message.
/// </summary>
/// <remarks>One caller's stack value; <see cref="Flush"/> must run on every path (a <c>finally</c>).</remarks>
internal struct BlockReleaseRun
{
    private ReceiveBlock? _block;
    private int _count;

    /// <summary>Counts one ended message of <paramref name="block"/>, settling the previous block's run first.</summary>
    public void Add(ReceiveBlock block)
    {
        if (!ReferenceEquals(block, _block))
        {
            Flush();
            _block = block;
        }

        _count++;
    }

    /// <summary>Settles the run so far.</summary>
    public void Flush()
    {
        if (_block is not null)
        {
            ReceiveBlock block = _block;
            int count = _count;
            _block = null;
            _count = 0;
            block.ReleaseEnded(count);
        }
    }
}
