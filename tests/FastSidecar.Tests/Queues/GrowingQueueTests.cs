using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

/// <summary>
/// The queues start with a small ring, grow while producers outrun the consumer and shrink back once traffic is
/// light: the capacity stays an exact bound, and under many threads racing growth and shrinking every item arrives
/// exactly once, in per-producer order.
/// </summary>
[Collection(QueueStressGroup.Name)]
public class GrowingQueueTests
{
    private static readonly TimeSpan JoinLimit = TimeSpan.FromSeconds(120);

    private readonly record struct Item(int Producer, int Sequence);

    [Theory]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(4096)]
    public void A_stalled_consumer_lets_a_send_queue_hold_exactly_its_capacity_then_full_and_all_come_out_in_order(int capacity)
    {
        var queue = new BoundedMpscQueue<int>(capacity);
        Assert.Equal(Math.Min(BoundedMpscQueue<int>.InitialSlots, capacity), queue.CurrentRingSize);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(queue.TryEnqueue(i), $"item {i} of {capacity} refused");
        }

        Assert.False(queue.TryEnqueue(-1));
        Assert.Equal(capacity, queue.Count);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(0, queue.Count);
        // The slots of every retired ring came back: the queue holds its capacity again.
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(queue.TryEnqueue(i), $"item {i} of {capacity} refused after the drain");
        }

        Assert.False(queue.TryEnqueue(-1));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(64)]
    [InlineData(4096)]
    public void A_stalled_application_lets_a_receive_queue_hold_exactly_its_capacity_then_full_and_all_come_out_in_order(int capacity)
    {
        var queue = new BoundedSpmcQueue<int>(capacity);
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < capacity; i++)
            {
                Assert.True(queue.TryEnqueue(i), $"round {round}: item {i} of {capacity} refused");
            }

            Assert.False(queue.TryEnqueue(-1));
            Assert.Equal(capacity, queue.Count);
            for (int i = 0; i < capacity; i++)
            {
                Assert.True(queue.TryDequeue(out int item));
                Assert.Equal(i, item);
            }

            Assert.False(queue.TryDequeue(out _));
        }
    }

    [Fact]
    public void A_send_queue_grows_for_a_burst_and_shrinks_back_to_its_first_size_once_traffic_is_light()
    {
        var queue = new BoundedMpscQueue<int>(4096);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        Assert.Equal(1024, queue.CurrentRingSize);
        int next = 0;
        while (queue.TryDequeue(out int item))
        {
            Assert.Equal(next++, item);
        }

        Assert.Equal(1000, next);
        // Light traffic: one item per drain. Each halving needs a run of quiet drains.
        for (int drain = 0; drain < 16 * 10; drain++)
        {
            Assert.True(queue.TryEnqueue(next));
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(next++, item);
            Assert.False(queue.TryDequeue(out _));
        }

        Assert.Equal(BoundedMpscQueue<int>.InitialSlots, queue.CurrentRingSize);
    }

    [Fact]
    public void A_receive_queue_grows_for_a_burst_and_shrinks_back_to_its_first_size_once_traffic_is_light()
    {
        var queue = new BoundedSpmcQueue<int>(4096);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        Assert.Equal(1024, queue.CurrentRingSize);
        int next = 0;
        while (queue.TryDequeue(out int item))
        {
            Assert.Equal(next++, item);
        }

        for (int i = 0; i < 20_000; i++)
        {
            Assert.True(queue.TryEnqueue(next));
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(next++, item);
        }

        Assert.Equal(BoundedMpscQueue<int>.InitialSlots, queue.CurrentRingSize);
    }

    [Theory]
    [InlineData(4, 4096)]
    [InlineData(8, 256)]
    [InlineData(3, 2)]
    public void Many_producers_racing_growth_and_shrinking_lose_duplicate_and_reorder_nothing(int producers, int capacity)
    {
        // A queue smaller than its producers hands every slot through a park and a wake-up, and on two cores a woken
        // producer waits for a core beside the spinning consumer: a few thousand items check order and loss there.
        int perProducer = capacity >= producers * 4 ? 100_000 : 3_000;
        var queue = new BoundedMpscQueue<Item>(capacity);
        int maxRing = 0;
        int shrinks = 0;
        var threads = new Thread[producers];
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            threads[p] = new Thread(() =>
            {
                for (int s = 0; s < perProducer; s++)
                {
                    Assert.Equal(QueueWaitResult.Success, queue.Enqueue(new Item(producer, s), JoinLimit));
                }
            }) { IsBackground = true };
        }

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        var expected = new int[producers];
        long taken = 0;
        long total = (long)producers * perProducer;
        var random = new Random(7);
        int lastRing = queue.CurrentRingSize;
        while (taken < total)
        {
            // Alternate stalls (producers fill and grow the queue) with runs of small drains (the consumer shrinks it).
            if (random.Next(64) == 0)
            {
                Thread.Sleep(1);
            }

            int batch = random.Next(1, 8);
            for (int i = 0; i < batch && queue.TryDequeue(out Item item); i++)
            {
                Assert.Equal(expected[item.Producer], item.Sequence);
                expected[item.Producer]++;
                taken++;
            }

            int ring = queue.CurrentRingSize;
            maxRing = Math.Max(maxRing, ring);
            shrinks += ring < lastRing ? 1 : 0;
            lastRing = ring;
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(JoinLimit));
        }

        Assert.False(queue.TryDequeue(out _));
        Assert.All(expected, count => Assert.Equal(perProducer, count));
        if (capacity > BoundedMpscQueue<Item>.InitialSlots)
        {
            Assert.True(maxRing > BoundedMpscQueue<Item>.InitialSlots, "the queue never grew");
            Assert.True(shrinks > 0, "the queue never shrank");
        }
    }

    [Theory]
    [InlineData(3, 4096)]
    [InlineData(2, 256)]
    public void Many_consumers_racing_growth_and_shrinking_take_each_item_once_and_in_order(int consumers, int capacity)
    {
        const int Total = 300_000;
        var queue = new BoundedSpmcQueue<int>(capacity);
        var seen = new int[Total];
        string? disorder = null;
        var threads = new Thread[consumers];
        int taken = 0;
        for (int c = 0; c < consumers; c++)
        {
            threads[c] = new Thread(() =>
            {
                int last = -1;
                var random = new Random(Environment.CurrentManagedThreadId);
                while (Volatile.Read(ref taken) < Total)
                {
                    if (random.Next(512) == 0)
                    {
                        Thread.Sleep(1);
                    }

                    if (queue.TryDequeue(out int item))
                    {
                        if (item <= last)
                        {
                            disorder ??= $"{item} after {last}: the producer's order broken";
                        }

                        last = item;
                        Interlocked.Increment(ref seen[item]);
                        Interlocked.Increment(ref taken);
                    }
                }
            }) { IsBackground = true };
        }

        // A burst before the consumers start: the queue grows at once, whatever the scheduling afterwards.
        int first = Math.Min(capacity, Total);
        for (int i = 0; i < first; i++)
        {
            Assert.True(queue.TryEnqueue(i));
        }

        int maxRing = queue.CurrentRingSize;
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        for (int i = first; i < Total;)
        {
            if (queue.TryEnqueue(i))
            {
                i++;
            }
            else
            {
                Thread.Yield();
            }

            maxRing = Math.Max(maxRing, queue.CurrentRingSize);
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(JoinLimit));
        }

        Assert.Null(disorder);
        Assert.All(seen, count => Assert.Equal(1, count));
        Assert.False(queue.TryDequeue(out _));
        Assert.True(maxRing > BoundedMpscQueue<int>.InitialSlots, "the queue never grew");
    }
}
