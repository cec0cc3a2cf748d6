using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;

namespace FastSidecar.Loop;

/// <summary>One <see cref="SidecarLoop.Invoke{T}"/> call: runs the work on the loop and lets the caller block until it finishes.</summary>
/// <remarks>
/// Thread affinity: <see cref="Run"/>, the completion and <see cref="ILoopResource.Abort"/> run on the loop thread; <see cref="Wait"/>
/// on the calling thread. The result and the error are written before <see cref="ManualResetEventSlim.Set"/>, which
/// publishes them to the caller. While the work is pending asynchronously the operation is an owned resource of the
/// loop, so a loop that stops releases the caller at once with <see cref="ObjectDisposedException"/>; an operation still
/// in the run queue at stop is released the same way (<see cref="IUnrunWorkState"/>). The event is never disposed: it
/// is only waited on through <see cref="ManualResetEventSlim.Wait(TimeSpan)"/>, which never creates a kernel handle,
/// and disposing it would race with a late completion after the caller timed out.
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "The event is deliberately never disposed; see the remarks.")]
internal abstract class InvokeOperation : ILoopResource, IUnrunWorkState
{
    public static readonly Action<object?> RunCallback = static state => ((InvokeOperation)state!).Run();

    private readonly ManualResetEventSlim _done = new(false, spinCount: 100);
    private readonly SidecarLoop _loop;
    private ExceptionDispatchInfo? _error;
    private int _finished;
    private bool _owned; // loop thread only
    private Action? _onCompleted;

    protected InvokeOperation(SidecarLoop loop) => _loop = loop;

    /// <summary>Blocks the caller until the work finishes; rethrows its exception; <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public void Wait(TimeSpan timeout)
    {
        if (!_done.Wait(timeout))
        {
            throw new TimeoutException($"The work did not finish on the loop within {timeout}. It keeps running there; its outcome is discarded.");
        }

        _error?.Throw();
    }

    void ILoopResource.Abort() =>
        Finish(ExceptionDispatchInfo.Capture(new ObjectDisposedException(nameof(SidecarLoop), "The loop stopped before the invoked work finished.")));

    void IUnrunWorkState.OnNotRun() =>
        Finish(ExceptionDispatchInfo.Capture(new ObjectDisposedException(nameof(SidecarLoop), "The loop stopped before the invoked work started.")));

    /// <summary>Starts the work; returns true when it completed synchronously (and stored its outcome).</summary>
    protected abstract bool Start();

    /// <summary>Stores the outcome of the work that completed asynchronously (rethrows its exception).</summary>
    protected abstract void Collect();

    /// <summary>Called by <see cref="Start"/> when the work is pending: owns the operation, then hooks completion.</summary>
    /// <remarks>
    /// Ownership comes first because a continuation may run inline inside <paramref name="register"/>. The awaiter
    /// captures the loop's synchronization context (this runs on the loop thread), so completion runs on the loop even
    /// when the work ends on another thread.
    /// </remarks>
    protected void AwaitCompletion(Action<Action> register)
    {
        _loop.Own(this);
        _owned = true;
        register(_onCompleted ??= OnCompleted);
    }

    protected void Succeed() => Finish(null);

    private void Run()
    {
        try
        {
            if (Start())
            {
                Succeed();
            }
        }
        catch (Exception e)
        {
            Finish(ExceptionDispatchInfo.Capture(e));
        }
    }

    private void OnCompleted()
    {
        try
        {
            Collect();
            Succeed();
        }
        catch (Exception e)
        {
            Finish(ExceptionDispatchInfo.Capture(e));
        }
    }

    private void Finish(ExceptionDispatchInfo? error)
    {
        if (Interlocked.Exchange(ref _finished, 1) != 0)
        {
            return; // aborted first, then completed late (or the reverse): the first outcome stands
        }

        if (_owned)
        {
            _owned = false;
            _loop.Disown(this);
        }

        _error = error;
        _done.Set();
    }
}

/// <summary>Invocation of a <see cref="Func{T}"/> returning <see cref="ValueTask{TResult}"/>.</summary>
internal sealed class InvokeOperation<T> : InvokeOperation
{
    private readonly Func<ValueTask<T>> _work;
    private ValueTask<T> _pending;
    private T _result = default!;

    public InvokeOperation(SidecarLoop loop, Func<ValueTask<T>> work)
        : base(loop) => _work = work;

    public T WaitForResult(TimeSpan timeout)
    {
        Wait(timeout);
        return _result;
    }

    protected override bool Start()
    {
        ValueTask<T> task = _work();
        if (task.IsCompleted)
        {
            _result = task.GetAwaiter().GetResult();
            return true;
        }

        _pending = task;
        AwaitCompletion(continuation => _pending.GetAwaiter().UnsafeOnCompleted(continuation));
        return false;
    }

    protected override void Collect()
    {
        ValueTask<T> task = _pending;
        _pending = default;
        _result = task.GetAwaiter().GetResult();
    }
}

/// <summary>Invocation of a <see cref="Func{T}"/> returning <see cref="ValueTask"/>.</summary>
internal sealed class VoidInvokeOperation : InvokeOperation
{
    private readonly Func<ValueTask> _work;
    private ValueTask _pending;

    public VoidInvokeOperation(SidecarLoop loop, Func<ValueTask> work)
        : base(loop) => _work = work;

    protected override bool Start()
    {
        ValueTask task = _work();
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
            return true;
        }

        _pending = task;
        AwaitCompletion(continuation => _pending.GetAwaiter().UnsafeOnCompleted(continuation));
        return false;
    }

    protected override void Collect()
    {
        ValueTask task = _pending;
        _pending = default;
        task.GetAwaiter().GetResult();
    }
}
