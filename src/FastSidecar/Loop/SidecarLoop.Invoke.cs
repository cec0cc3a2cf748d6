using System.Diagnostics.CodeAnalysis;
using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Synchronous entry points: run async work on the loop and block the calling thread until it is done.</summary>
public sealed partial class SidecarLoop
{
    /// <summary>Runs <paramref name="work"/> on the loop thread and blocks the caller until it finishes; returns its result.</summary>
    /// <remarks>
    /// The work starts on the loop thread with the loop's <see cref="SynchronizationContext"/> installed, so its
    /// <c>await</c>s resume on the loop thread. The caller waits on an event (a short spin, then a block), never on the
    /// thread pool. Exceptions thrown by the work are rethrown with their original stack trace. On timeout the caller
    /// gets a <see cref="TimeoutException"/> but the work is not cancelled: it keeps running on the loop and its
    /// outcome is discarded (pass a cancellation token into the work if it must stop). If the loop stops before the
    /// work finishes, the caller gets <see cref="ObjectDisposedException"/> at once.
    /// Called on the loop thread itself, the work runs inline; if it does not complete synchronously this throws
    /// <see cref="InvalidOperationException"/>, because blocking the loop thread on work that needs the loop thread
    /// would deadlock (the work keeps running; <c>await</c> it instead).
    /// </remarks>
    /// <param name="work">The work; called once, on the loop thread.</param>
    /// <param name="timeout">How long the caller waits; <see cref="Timeout.InfiniteTimeSpan"/> to wait for ever.</param>
    /// <exception cref="TimeoutException">The work did not finish in time.</exception>
    /// <exception cref="ObjectDisposedException">The loop is stopping or stopped, or stopped before the work finished.</exception>
    /// <exception cref="InvalidOperationException">Called on the loop thread and the work did not complete synchronously.</exception>
    public T Invoke<T>(Func<ValueTask<T>> work, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(work);
        ValidateTimeout(timeout);
        ThrowIfNotRunning();
        if (IsOnLoopThread)
        {
            ValueTask<T> task = work();
            if (task.IsCompleted)
            {
                return task.GetAwaiter().GetResult();
            }

            ObserveAbandoned(task.AsTask());
            ThrowWouldDeadlock();
        }

        var operation = new InvokeOperation<T>(this, work);
        if (!TryPost(new WorkItem(InvokeOperation.RunCallback, operation)))
        {
            ThrowStopped();
        }

        return operation.WaitForResult(timeout);
    }

    /// <summary>Runs <paramref name="work"/> on the loop thread and blocks the caller until it finishes.</summary>
    /// <remarks>Same semantics as <see cref="Invoke{T}(Func{ValueTask{T}}, TimeSpan)"/>.</remarks>
    /// <param name="work">The work; called once, on the loop thread.</param>
    /// <param name="timeout">How long the caller waits; <see cref="Timeout.InfiniteTimeSpan"/> to wait for ever.</param>
    /// <exception cref="TimeoutException">The work did not finish in time.</exception>
    /// <exception cref="ObjectDisposedException">The loop is stopping or stopped, or stopped before the work finished.</exception>
    /// <exception cref="InvalidOperationException">Called on the loop thread and the work did not complete synchronously.</exception>
    public void Invoke(Func<ValueTask> work, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(work);
        ValidateTimeout(timeout);
        ThrowIfNotRunning();
        if (IsOnLoopThread)
        {
            ValueTask task = work();
            if (task.IsCompleted)
            {
                task.GetAwaiter().GetResult();
                return;
            }

            ObserveAbandoned(task.AsTask());
            ThrowWouldDeadlock();
        }

        var operation = new VoidInvokeOperation(this, work);
        if (!TryPost(new WorkItem(InvokeOperation.RunCallback, operation)))
        {
            ThrowStopped();
        }

        operation.Wait(timeout);
    }

    private static void ValidateTimeout(TimeSpan timeout)
    {
        if (timeout < TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must be non-negative or Timeout.InfiniteTimeSpan.");
        }
    }

    private void ThrowIfNotRunning()
    {
        if (Volatile.Read(ref _state) != StateRunning)
        {
            ThrowStopped();
        }
    }

    /// <summary>Keeps an abandoned task's exception from going unobserved; runs inline wherever it completes.</summary>
    private static void ObserveAbandoned(Task task) =>
        task.ContinueWith(
            static t => _ = t.Exception,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously | TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);

    [DoesNotReturn]
    private static void ThrowWouldDeadlock() =>
        throw new InvalidOperationException(
            "Invoke was called on the loop thread with work that did not complete synchronously; waiting for it would block the only thread that can finish it. Await the work instead.");
}
