namespace FastSidecar.Transport;

/// <summary>
/// Clears the loop's <see cref="SynchronizationContext"/> while the loop thread drives <see cref="System.Net.Security.SslStream"/>,
/// and restores it after.
/// </summary>
/// <remarks>
/// Why: a <see cref="Task"/> that completes on a thread whose synchronization context is not the default one never
/// runs a <c>ConfigureAwait(false)</c> continuation inline; it queues it to the thread pool instead (the runtime
/// will not run foreign code under someone else's context). SslStream's handshake awaits its own inner tasks that way,
/// so with the loop's context in place each step of the handshake would hop to the pool, and a starved pool would
/// stall it. With no context, those continuations run inline, on the loop thread, inside the readiness callback that
/// completed them. Nothing awaited inside the scope captures a context, so nothing is posted to the loop either.
/// </remarks>
internal readonly ref struct InlineContinuationScope
{
    private readonly SynchronizationContext? _saved;

    private InlineContinuationScope(SynchronizationContext? saved) => _saved = saved;

    public static InlineContinuationScope Enter()
    {
        SynchronizationContext? saved = SynchronizationContext.Current;
        if (saved is not null)
        {
            SynchronizationContext.SetSynchronizationContext(null);
        }

        return new InlineContinuationScope(saved);
    }

    public void Dispose()
    {
        if (_saved is not null)
        {
            SynchronizationContext.SetSynchronizationContext(_saved);
        }
    }
}
