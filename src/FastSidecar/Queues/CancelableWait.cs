namespace FastSidecar.Queues;

/// <summary>
/// Makes a <see cref="WaitSignal"/> wait end on cancellation: the condition also holds once the token is canceled,
/// and a registration on the token wakes every parked waiter so they re-check it.
/// </summary>
/// <remarks>
/// Why this and not a change to <see cref="WaitSignal"/>: the signal's lost wake-up argument stays exactly as it is.
/// Cancellation is one more publication (the token's canceled flag, set before its callbacks run) followed by
/// <see cref="WaitSignal.NotifyAll"/>, which takes the signal's lock: a waiter either sees the flag in its re-check
/// under that lock or is already inside <see cref="Monitor.Wait(object, int)"/> when the pulse comes.
/// The registration is made only on the blocking path and only for a token that can be canceled, so an uncancelable
/// wait (every existing caller) costs nothing more.
/// </remarks>
internal readonly struct CancelableCondition<TCondition>(TCondition inner, CancellationToken cancellationToken) : IWaitCondition
    where TCondition : struct, IWaitCondition
{
    public bool IsSatisfied => inner.IsSatisfied || cancellationToken.IsCancellationRequested;
}

/// <summary>Registers a token to wake a <see cref="WaitSignal"/>'s waiters (see <see cref="CancelableCondition{TCondition}"/>).</summary>
internal static class CancelableWait
{
    private static readonly Action<object?> s_wakeAll = static state => ((WaitSignal)state!).NotifyAll();

    /// <summary>Wakes every waiter of <paramref name="signal"/> when <paramref name="cancellationToken"/> is canceled; dispose to stop.</summary>
    public static CancellationTokenRegistration WakeOnCancel(WaitSignal signal, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? cancellationToken.UnsafeRegister(s_wakeAll, signal) : default;
}
