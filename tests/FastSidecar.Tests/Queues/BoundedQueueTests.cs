using System.Diagnostics;
using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

public class BoundedQueueTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public void Mpsc_enqueue_with_zero_timeout_on_a_full_queue_times_out_at_once()
    {
        var queue = new BoundedMpscQueue<int>(2);
        Assert.Equal(QueueWaitResult.Success, queue.Enqueue(1, TimeSpan.Zero));
        Assert.Equal(QueueWaitResult.Success, queue.Enqueue(2, TimeSpan.Zero));
        Assert.Equal(2, queue.Count);
        Assert.False(queue.TryEnqueue(3));
        Assert.Equal(QueueWaitResult.TimedOut, queue.Enqueue(3, TimeSpan.Zero));
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void Negative_timeouts_other_than_infinite_are_rejected()
    {
        // Rejected whether or not the call would have had to wait.
        var mpsc = new BoundedMpscQueue<int>(2);
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => mpsc.Enqueue(1, TimeSpan.FromMilliseconds(-2)));
        mpsc.TryEnqueue(1);
        mpsc.TryEnqueue(2);
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => mpsc.Enqueue(3, TimeSpan.FromMilliseconds(-2)));
        Assert.Equal(2, mpsc.Count);
        var spmc = new BoundedSpmcQueue<int>(2);
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => spmc.Dequeue(out _, TimeSpan.FromMilliseconds(-2)));
        spmc.TryEnqueue(1);
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => spmc.Dequeue(out _, TimeSpan.FromMilliseconds(-2)));
        Assert.Equal(1, spmc.Count);
    }

    [Fact]
    public void Mpsc_blocked_enqueue_completes_when_the_consumer_frees_a_slot()
    {
        var queue = new BoundedMpscQueue<int>(2, WaitPolicy.Spins(0));
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);
        var threads = new TestThreads();
        QueueWaitResult result = QueueWaitResult.TimedOut;
        threads.Start("producer", () => result = queue.Enqueue(3, Long));
        TestThreads.WaitUntil(() => queue.ParkedProducers == 1, "the producer parks");

        Assert.True(queue.TryDequeue(out int first));
        threads.JoinAll(Long);

        Assert.Equal(QueueWaitResult.Success, result);
        Assert.Equal(1, first);
        Assert.Equal(0, queue.ParkedProducers);
        Assert.True(queue.TryDequeue(out int second));
        Assert.True(queue.TryDequeue(out int third));
        Assert.Equal((2, 3), (second, third));
        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void Mpsc_enqueue_on_a_full_queue_honours_its_timeout()
    {
        var queue = new BoundedMpscQueue<int>(2);
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);
        var timeout = TimeSpan.FromMilliseconds(150);
        var watch = Stopwatch.StartNew();
        QueueWaitResult result = queue.Enqueue(3, timeout);
        watch.Stop();
        Assert.Equal(QueueWaitResult.TimedOut, result);
        Assert.True(watch.Elapsed >= timeout, $"returned after {watch.Elapsed}, before the timeout");
        Assert.True(watch.Elapsed < timeout + TimeSpan.FromSeconds(3), $"returned only after {watch.Elapsed}");
        Assert.Equal(2, queue.Count);
    }

    [Fact]
    public void Mpsc_complete_wakes_every_blocked_producer_and_keeps_queued_items()
    {
        var queue = new BoundedMpscQueue<int>(2, WaitPolicy.Spins(0));
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);
        var results = new QueueWaitResult[3];
        var threads = new TestThreads();
        for (int i = 0; i < results.Length; i++)
        {
            int index = i;
            threads.Start($"producer {i}", () => results[index] = queue.Enqueue(10 + index, Timeout.InfiniteTimeSpan));
        }

        TestThreads.WaitUntil(() => queue.ParkedProducers == 3, "all three producers park");
        queue.Complete();
        threads.JoinAll(Long);

        Assert.All(results, r => Assert.Equal(QueueWaitResult.Completed, r));
        Assert.True(queue.IsCompleted);
        Assert.False(queue.TryEnqueue(5));
        Assert.Equal(QueueWaitResult.Completed, queue.Enqueue(5, Long));
        Assert.True(queue.TryDequeue(out int a));
        Assert.True(queue.TryDequeue(out int b));
        Assert.Equal((1, 2), (a, b));
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(QueueWaitResult.Completed, queue.Enqueue(5, TimeSpan.Zero));
    }

    [Fact]
    public void Spmc_dequeue_with_zero_timeout_on_an_empty_queue_times_out_at_once()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        Assert.Equal(QueueWaitResult.TimedOut, queue.Dequeue(out int item, TimeSpan.Zero));
        Assert.Equal(0, item);
        Assert.True(queue.TryEnqueue(7));
        Assert.Equal(1, queue.Count);
        Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out item, TimeSpan.Zero));
        Assert.Equal(7, item);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Spmc_dequeue_on_an_empty_queue_honours_its_timeout()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        var timeout = TimeSpan.FromMilliseconds(150);
        var watch = Stopwatch.StartNew();
        QueueWaitResult result = queue.Dequeue(out _, timeout);
        watch.Stop();
        Assert.Equal(QueueWaitResult.TimedOut, result);
        Assert.True(watch.Elapsed >= timeout, $"returned after {watch.Elapsed}, before the timeout");
        Assert.True(watch.Elapsed < timeout + TimeSpan.FromSeconds(3), $"returned only after {watch.Elapsed}");
        Assert.Equal(0, queue.ParkedConsumers);
    }

    [Fact]
    public void Spmc_enqueue_wakes_a_parked_consumer()
    {
        var queue = new BoundedSpmcQueue<int>(4, WaitPolicy.Spins(0));
        var threads = new TestThreads();
        int received = 0;
        QueueWaitResult result = QueueWaitResult.TimedOut;
        threads.Start("consumer", () => result = queue.Dequeue(out received, Timeout.InfiniteTimeSpan));
        TestThreads.WaitUntil(() => queue.ParkedConsumers == 1, "the consumer parks");

        Assert.True(queue.TryEnqueue(42));
        threads.JoinAll(Long);

        Assert.Equal(QueueWaitResult.Success, result);
        Assert.Equal(42, received);
    }

    [Fact]
    public void Spmc_full_queue_refuses_the_producer()
    {
        var queue = new BoundedSpmcQueue<int>(2);
        Assert.True(queue.TryEnqueue(1));
        Assert.True(queue.TryEnqueue(2));
        Assert.False(queue.TryEnqueue(3));
        Assert.True(queue.TryDequeue(out int item));
        Assert.Equal(1, item);
        Assert.True(queue.TryEnqueue(3));
    }

    [Fact]
    public void Spmc_complete_delivers_remaining_items_first_then_completed()
    {
        var queue = new BoundedSpmcQueue<int>(4);
        queue.TryEnqueue(1);
        queue.TryEnqueue(2);
        queue.TryEnqueue(3);
        queue.Complete();
        Assert.True(queue.IsCompleted);
        Assert.False(queue.TryEnqueue(4));
        for (int i = 1; i <= 3; i++)
        {
            Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out int item, Long));
            Assert.Equal(i, item);
        }

        Assert.Equal(QueueWaitResult.Completed, queue.Dequeue(out _, Long));
        Assert.Equal(QueueWaitResult.Completed, queue.Dequeue(out _, TimeSpan.Zero));
    }

    [Fact]
    public void Spmc_complete_wakes_every_parked_consumer()
    {
        var queue = new BoundedSpmcQueue<int>(4, WaitPolicy.Spins(0));
        var results = new QueueWaitResult[3];
        var items = new int[3];
        var threads = new TestThreads();
        for (int i = 0; i < results.Length; i++)
        {
            int index = i;
            threads.Start($"consumer {i}", () => results[index] = queue.Dequeue(out items[index], Timeout.InfiniteTimeSpan));
        }

        TestThreads.WaitUntil(() => queue.ParkedConsumers == 3, "all three consumers park");
        Assert.True(queue.TryEnqueue(99));
        queue.Complete();
        threads.JoinAll(Long);

        Assert.Single(results, r => r == QueueWaitResult.Success);
        Assert.Equal(2, results.Count(r => r == QueueWaitResult.Completed));
        Assert.Equal(99, items[Array.IndexOf(results, QueueWaitResult.Success)]);
    }

    [Fact]
    public void WaitSignal_deadline_from_zero_has_passed_and_from_infinite_never_comes()
    {
        Assert.True(WaitSignal.DeadlineFrom(TimeSpan.Zero) <= Stopwatch.GetTimestamp());
        Assert.Equal(long.MaxValue, WaitSignal.DeadlineFrom(Timeout.InfiniteTimeSpan));
        Assert.Equal(long.MaxValue, WaitSignal.DeadlineFrom(TimeSpan.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => WaitSignal.DeadlineFrom(TimeSpan.FromTicks(-5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => WaitPolicy.Spins(-1));
    }
}
