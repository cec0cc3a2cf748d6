namespace FastSidecar.Loop;

/// <summary>Installed on the loop thread so that an <c>await</c> in loop code resumes on the loop thread.</summary>
/// <remarks>
/// <see cref="Post"/> queues the continuation on the loop's run queue without allocating a wrapper. Once the loop is
/// stopping, posted continuations are dropped: they could never run, and the operations they belong to have been
/// aborted by the teardown (pending invocations are owned resources). <see cref="Send"/> runs inline on the loop
/// thread and otherwise blocks the caller through <see cref="SidecarLoop.Invoke(Func{ValueTask}, TimeSpan)"/>.
/// </remarks>
internal sealed class LoopSynchronizationContext : SynchronizationContext
{
    private readonly SidecarLoop _loop;

    public LoopSynchronizationContext(SidecarLoop loop) => _loop = loop;

    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        _loop.TryPost(new WorkItem(d, state));
    }

    public override void Send(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (_loop.IsOnLoopThread)
        {
            d(state);
            return;
        }

        _loop.Invoke(
            () =>
            {
                d(state);
                return ValueTask.CompletedTask;
            },
            Timeout.InfiniteTimeSpan);
    }

    public override SynchronizationContext CreateCopy() => this;
}
