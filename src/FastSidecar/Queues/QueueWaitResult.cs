namespace FastSidecar.Queues;

/// <summary>How a blocking queue operation ended.</summary>
internal enum QueueWaitResult
{
    /// <summary>The item was enqueued or dequeued.</summary>
    Success,

    /// <summary>The timeout passed first; the queue is untouched.</summary>
    TimedOut,

    /// <summary>The queue was completed: no more items go in, and (for a dequeue) none are left.</summary>
    Completed,

    /// <summary>The caller's cancellation token was canceled first; the queue is untouched.</summary>
    Canceled,
}
