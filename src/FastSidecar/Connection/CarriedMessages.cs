namespace FastSidecar.Connection;

/// <summary>
/// Received messages that a caller dequeued but could not take, because the buffer it offered was too small; they go
/// to the next receive, ahead of the queue, instead of being lost.
/// </summary>
/// <remarks>
/// A rare path (a caller sized its buffer below a message), so a lock and a queue are fine here. The common path pays
/// one volatile read of <see cref="_count"/>. Thread-safety: any thread.
/// </remarks>
internal sealed class CarriedMessages
{
    private readonly Queue<ReceivedMessage> _messages = new(); // guarded by itself
    private volatile int _count;

    /// <summary>Keeps <paramref name="message"/> for the next receive.</summary>
    public void Add(in ReceivedMessage message)
    {
        lock (_messages)
        {
            _messages.Enqueue(message);
            _count = _messages.Count;
        }
    }

    /// <summary>Takes the oldest kept message, if any.</summary>
    public bool TryTake(out ReceivedMessage message)
    {
        if (_count == 0)
        {
            message = default;
            return false;
        }

        lock (_messages)
        {
            bool taken = _messages.TryDequeue(out message);
            _count = _messages.Count;
            return taken;
        }
    }

    /// <summary>Exit: releases every kept message; returns how many there were.</summary>
    public int DisposeAll()
    {
        int count = 0;
        while (TryTake(out ReceivedMessage message))
        {
            message.Dispose();
            count++;
        }

        return count;
    }
}
