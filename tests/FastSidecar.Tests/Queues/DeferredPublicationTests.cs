using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

/// <summary>
/// The receive queue's burst hand-off: items added with <c>TryEnqueueUnannounced</c> reach consumers a chunk at a time
/// or at <c>Announce</c>, always in order, and never stay hidden where hiding them would stall anyone: not when the
/// ring is full, not when it grows, not behind a fenced enqueue.
/// </summary>
public class DeferredPublicationTests
{
    private const int Chunk = SequencedRing<int>.PublishChunk;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    [Fact]
    public void Unannounced_items_stay_hidden_until_announced_then_come_out_in_order()
    {
        var queue = new BoundedSpmcQueue<int>(4096);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(i));
        }

        Assert.Equal(0, queue.Count);
        Assert.False(queue.TryDequeue(out _));

        queue.Announce();
        Assert.Equal(3, queue.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void A_full_chunk_is_published_without_an_announcement()
    {
        var queue = new BoundedSpmcQueue<int>(4096);
        for (int i = 0; i < Chunk - 1; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(i));
        }

        Assert.Equal(0, queue.Count);
        Assert.True(queue.TryEnqueueUnannounced(Chunk - 1));
        Assert.Equal(Chunk, queue.Count);
        for (int i = 0; i < Chunk; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }
    }

    [Fact]
    public void A_fenced_enqueue_publishes_the_unannounced_items_before_it()
    {
        var queue = new BoundedSpmcQueue<int>(4096);
        Assert.True(queue.TryEnqueueUnannounced(1));
        Assert.True(queue.TryEnqueueUnannounced(2));
        Assert.True(queue.TryEnqueue(3));

        Assert.Equal(3, queue.Count);
        for (int i = 1; i <= 3; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(4096)]
    public void A_full_queue_refuses_with_everything_before_it_visible(int capacity)
    {
        // A refused add leaves the producer paused until a consumer makes room; an item hidden then would never be taken.
        var queue = new BoundedSpmcQueue<int>(capacity);
        int added = 0;
        while (queue.TryEnqueueUnannounced(added))
        {
            added++;
        }

        Assert.Equal(capacity, added);
        Assert.Equal(capacity, queue.Count);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.True(queue.TryEnqueueUnannounced(capacity));
        queue.Announce();
        Assert.True(queue.TryDequeue(out int last));
        Assert.Equal(capacity, last);
    }

    [Fact]
    public void Growth_publishes_the_old_ring_before_freezing_it_and_order_holds_across_rings()
    {
        var queue = new BoundedSpmcQueue<int>(4096);
        int initial = queue.CurrentRingSize;
        const int Items = 1000;
        for (int i = 0; i < Items; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(i));
        }

        Assert.True(queue.CurrentRingSize > initial, "the queue grew");
        queue.Announce();
        Assert.Equal(Items, queue.Count);
        for (int i = 0; i < Items; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.False(queue.TryDequeue(out _));
    }

    [Fact]
    public void A_parked_consumer_is_woken_by_a_full_chunk_before_the_announcement()
    {
        var queue = new BoundedSpmcQueue<int>(4096, WaitPolicy.Spins(0));
        var threads = new TestThreads();
        int received = -1;
        QueueWaitResult result = QueueWaitResult.TimedOut;
        threads.Start("consumer", () => result = queue.Dequeue(out received, Timeout.InfiniteTimeSpan));
        TestThreads.WaitUntil(() => queue.ParkedConsumers == 1, "the consumer parks");
        long parksBefore = queue.ConsumerParks;

        for (int i = 0; i < Chunk; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(i));
        }

        threads.JoinAll(Long); // no Announce: the chunk's publication woke it
        Assert.Equal(QueueWaitResult.Success, result);
        Assert.Equal(0, received);
        Assert.Equal(parksBefore, queue.ConsumerParks);
        Assert.True(parksBefore >= 1);
    }

    [Fact]
    public void Completion_after_an_announcement_leaves_every_item_drainable()
    {
        var queue = new BoundedSpmcQueue<int>(64);
        Assert.True(queue.TryEnqueueUnannounced(7));
        queue.Announce();
        queue.Complete();

        Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out int item, TimeSpan.Zero));
        Assert.Equal(7, item);
        Assert.Equal(QueueWaitResult.Completed, queue.Dequeue(out _, TimeSpan.Zero));
    }
}
