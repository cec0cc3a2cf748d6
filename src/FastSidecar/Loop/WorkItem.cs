namespace FastSidecar.Loop;

/// <summary>One entry of the run queue: a callback and its state, stored by value so a post allocates nothing.</summary>
/// <remarks>
/// The callback is kept as <see cref="Delegate"/> and dispatched on its exact type (all three are sealed, so each test
/// is one type-handle compare); this lets the public <see cref="Action"/> overload and the synchronization context's
/// <see cref="SendOrPostCallback"/> be queued without a wrapper allocation.
/// </remarks>
internal readonly struct WorkItem
{
    private readonly Delegate _callback;
    private readonly object? _state;

    public WorkItem(Action<object?> callback, object? state)
    {
        _callback = callback;
        _state = state;
    }

    public WorkItem(Action action)
    {
        _callback = action;
        _state = null;
    }

    public WorkItem(SendOrPostCallback callback, object? state)
    {
        _callback = callback;
        _state = state;
    }

    public object? State => _state;

    public void Run()
    {
        switch (_callback)
        {
            case Action<object?> withState:
                withState(_state);
                break;
            case Action plain:
                plain();
                break;
            case SendOrPostCallback posted:
                posted(_state);
                break;
        }
    }
}

/// <summary>
/// Implemented by run-queue state that must learn that it will never run (the loop stopped first), so that a
/// thread waiting for it is released at once instead of at its timeout.
/// </summary>
internal interface IUnrunWorkState
{
    /// <summary>Called on the loop thread during stop, instead of the callback.</summary>
    void OnNotRun();
}
