using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

public sealed class QueueCancellationTests
{
    [Fact]
    public void Dequeue_on_an_empty_queue_returns_Canceled_when_the_token_is_canceled_and_leaves_the_queue_usable()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        Assert.Equal(QueueWaitResult.Canceled, queue.Dequeue(out _, Timeout.InfiniteTimeSpan, cts.Token));
        Assert.True(queue.TryEnqueue(7));
        Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out int item, TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(7, item);
    }

    [Fact]
    public void Enqueue_on_a_full_queue_returns_Canceled_when_the_token_is_canceled_and_adds_nothing()
    {
        var queue = new BoundedMpscQueue<int>(2);
        Assert.True(queue.TryEnqueue(1));
        Assert.True(queue.TryEnqueue(2));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));
        Assert.Equal(QueueWaitResult.Canceled, queue.Enqueue(3, Timeout.InfiniteTimeSpan, cts.Token));
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void A_canceled_token_does_not_hide_an_item_that_arrives_before_the_cancel()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        using var cts = new CancellationTokenSource();
        var producer = new Thread(() =>
        {
            Thread.Sleep(20);
            queue.TryEnqueue(5);
        });
        producer.Start();
        Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out int item, TimeSpan.FromSeconds(10), cts.Token));
        Assert.Equal(5, item);
        producer.Join();
    }

    [Fact]
    public void Completion_still_wins_over_a_cancelable_wait()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        using var cts = new CancellationTokenSource();
        var completer = new Thread(() =>
        {
            Thread.Sleep(20);
            queue.Complete();
        });
        completer.Start();
        Assert.Equal(QueueWaitResult.Completed, queue.Dequeue(out _, TimeSpan.FromSeconds(10), cts.Token));
        completer.Join();
    }
}
