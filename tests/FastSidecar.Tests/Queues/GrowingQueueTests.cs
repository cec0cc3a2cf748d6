using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

/// <summary>
/// The queues start with a small ring, grow while producers outrun the consumer and shrink back only when a trim tick
/// finds that traffic stayed light for a whole period: the capacity stays an exact bound, a bursty flood allocates
/// nothing once grown, regrowth reuses pooled slot arrays, and under many threads racing growth and shrinking every
/// item arrives exactly once, in per-producer order.
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
    public void A_send_queue_grows_for_a_burst_keeps_its_ring_through_light_drains_and_shrinks_only_after_a_quiet_trim_period()
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
        // Light traffic, one item per drain: drains alone never shrink the ring.
        for (int drain = 0; drain < 10_000; drain++)
        {
            Assert.True(queue.TryEnqueue(next));
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(next++, item);
            Assert.False(queue.TryDequeue(out _));
        }

        Assert.Equal(1024, queue.CurrentRingSize);
        // The period since the queue was created held the burst: not a quiet one.
        Assert.True(queue.TrimIfQuiet());
        Assert.Equal(1024, queue.CurrentRingSize);
        for (int drain = 0; drain < 100; drain++)
        {
            Assert.True(queue.TryEnqueue(next));
            Assert.True(queue.TryDequeue(out int item));
            Assert.Equal(next++, item);
            Assert.False(queue.TryDequeue(out _));
        }

        Assert.False(queue.TrimIfQuiet());
        Assert.Equal(BoundedMpscQueue<int>.InitialSlots, queue.CurrentRingSize);
        Assert.True(queue.TryEnqueue(next));
        Assert.True(queue.TryDequeue(out int last));
        Assert.Equal(next, last);
    }

    [Fact]
    public void A_receive_queue_grows_for_a_burst_keeps_its_ring_through_light_traffic_and_shrinks_only_after_a_quiet_trim_period()
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

        Assert.Equal(1024, queue.CurrentRingSize);
        Assert.True(queue.TrimIfQuiet()); // the period held the burst
        Assert.Equal(1024, queue.CurrentRingSize);
        Assert.True(queue.TryEnqueue(next));
        Assert.True(queue.TryDequeue(out int light));
        Assert.Equal(next++, light);
        Assert.False(queue.TrimIfQuiet());
        Assert.Equal(BoundedMpscQueue<int>.InitialSlots, queue.CurrentRingSize);
        Assert.True(queue.TryEnqueue(next));
        Assert.True(queue.TryDequeue(out int last));
        Assert.Equal(next, last);
    }

    [Fact]
    public void A_trim_leaves_a_queue_that_is_not_empty_or_was_busy_in_the_period_as_it_is()
    {
        var send = new BoundedMpscQueue<int>(4096);
        var receive = new BoundedSpmcQueue<int>(4096);
        for (int i = 0; i < 600; i++)
        {
            Assert.True(send.TryEnqueue(i));
            Assert.True(receive.TryEnqueue(i));
        }

        int sendRing = send.CurrentRingSize;
        int receiveRing = receive.CurrentRingSize;
        Assert.True(sendRing > BoundedMpscQueue<int>.InitialSlots);
        Assert.True(receiveRing > BoundedMpscQueue<int>.InitialSlots);
        Assert.True(send.TrimIfQuiet());
        Assert.True(receive.TrimIfQuiet());
        Assert.True(send.TrimIfQuiet()); // quiet since, but 600 items still queued
        Assert.True(receive.TrimIfQuiet());
        Assert.Equal(sendRing, send.CurrentRingSize);
        Assert.Equal(receiveRing, receive.CurrentRingSize);
        for (int i = 0; i < 600; i++)
        {
            Assert.True(send.TryDequeue(out int s));
            Assert.True(receive.TryDequeue(out int r));
            Assert.Equal(i, s);
            Assert.Equal(i, r);
        }
    }

    // Bursts larger than the first ring, each drained, with a light trickle between them: a flood's shape. Without a
    // trim period in between the rings must stay as grown, so after the first cycle nothing at all is allocated.
    [Fact]
    public void A_bursty_flood_through_a_send_queue_allocates_nothing_after_warm_up()
    {
        var queue = new BoundedMpscQueue<Burst>(4096);
        for (int cycle = 0; cycle < 3; cycle++)
        {
            BurstCycle(queue); // grows to the ring the bursts need (two steps: the second burst starts in a grown ring)
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        long messages = 0;
        for (int cycle = 0; cycle < 20; cycle++)
        {
            messages += BurstCycle(queue);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{allocated} B over {messages} messages ({(double)allocated / messages:F2} B per message)");
    }

    [Fact]
    public void A_bursty_flood_through_a_receive_queue_allocates_nothing_after_warm_up()
    {
        var queue = new BoundedSpmcQueue<Burst>(4096);
        for (int cycle = 0; cycle < 3; cycle++)
        {
            BurstCycle(queue);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        long messages = 0;
        for (int cycle = 0; cycle < 20; cycle++)
        {
            messages += BurstCycle(queue);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{allocated} B over {messages} messages ({(double)allocated / messages:F2} B per message)");
    }

    // A consumer slower than its producer keeps the queue at its capacity: the producer fills it, the consumer takes a
    // part, again and again. Once the queue is one ring of its full size, that must allocate nothing (a ring grown from
    // the largest size to the largest size each time it filled was the flood's allocation per message).
    [Fact]
    public void A_send_queue_kept_full_by_a_slower_consumer_allocates_nothing_after_warm_up()
    {
        var queue = new BoundedMpscQueue<Burst>(4096);
        for (int round = 0; round < 8; round++)
        {
            FullRound(queue);
        }

        Assert.Equal(4096, queue.CurrentRingSize);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long messages = 0;
        for (int round = 0; round < 50; round++)
        {
            messages += FullRound(queue);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{allocated} B over {messages} messages");
        Assert.Equal(50 * 1000, messages); // one ring of the full size: each round refills exactly what was taken

        static int FullRound(BoundedMpscQueue<Burst> queue)
        {
            int added = 0;
            while (queue.TryEnqueue(new Burst(added)))
            {
                added++;
            }

            // Up to 1,000: while the consumer is still on the older rings the largest one takes only its granted
            // slots, so a round may add nothing and find fewer than 1,000 queued.
            for (int i = 0; i < 1000 && queue.TryDequeue(out _); i++)
            {
            }

            return added;
        }
    }

    [Fact]
    public void A_receive_queue_kept_full_by_a_slower_application_allocates_nothing_after_warm_up()
    {
        var queue = new BoundedSpmcQueue<Burst>(4096);
        for (int round = 0; round < 8; round++)
        {
            FullRound(queue);
        }

        Assert.Equal(4096, queue.CurrentRingSize);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long messages = 0;
        for (int round = 0; round < 50; round++)
        {
            messages += FullRound(queue);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated == 0, $"{allocated} B over {messages} messages");
        Assert.Equal(50 * 1000, messages); // one ring of the full size: each round refills exactly what was taken

        static int FullRound(BoundedSpmcQueue<Burst> queue)
        {
            int added = 0;
            while (queue.TryEnqueueUnannounced(new Burst(added)))
            {
                added++;
            }

            queue.Announce();
            // Up to 1,000: while the consumer is still on the older rings the largest one takes only its granted
            // slots, so a round may add nothing and find fewer than 1,000 queued.
            for (int i = 0; i < 1000 && queue.TryDequeue(out _); i++)
            {
            }

            return added;
        }
    }

    [Fact]
    public void Growing_again_after_a_trim_takes_the_slot_arrays_from_the_pool()
    {
        var first = new BoundedMpscQueue<Pooled>(4096);
        var second = new BoundedSpmcQueue<Pooled>(4096);
        Fill(first, second);
        Assert.True(first.TrimIfQuiet());
        Assert.True(second.TrimIfQuiet());
        Assert.False(first.TrimIfQuiet());
        Assert.False(second.TrimIfQuiet());
        Assert.True(SequencedRing<Pooled>.RetainedSlotArrays(1024) >= 1);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Fill(first, second);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The slot arrays from 64 to 1,024 slots are over 60 KB for both queues; the ring objects are a few KB.
        Assert.InRange(allocated, 0, 8 * 1024);

        static void Fill(BoundedMpscQueue<Pooled> send, BoundedSpmcQueue<Pooled> receive)
        {
            for (int i = 0; i < 1000; i++)
            {
                Assert.True(send.TryEnqueue(new Pooled(i)));
                Assert.True(receive.TryEnqueue(new Pooled(i)));
            }

            Assert.True(send.CurrentRingSize == 1024 && receive.CurrentRingSize == 1024, "both queues grew to 1,024 slots");
            for (int i = 0; i < 1000; i++)
            {
                // Assert.True only: Assert.Equal allocates a comparer per call, which this test would count.
                Assert.True(send.TryDequeue(out Pooled s) && s.Value == i, "send queue out of order");
                Assert.True(receive.TryDequeue(out Pooled r) && r.Value == i, "receive queue out of order");
            }
        }
    }

    // Long enough that the drain-counting shrink this replaced would have halved a 2,048-slot ring down to the first
    // size within one cycle, so each burst had to grow (and allocate) it again.
    private const int LightMessagesPerCycle = 10_000;

    private readonly record struct Burst(long Value);

    private readonly record struct Pooled(long Value);

    private static int BurstCycle(BoundedMpscQueue<Burst> queue)
    {
        int messages = 0;
        for (int i = 0; i < 1500; i++)
        {
            Assert.True(queue.TryEnqueue(new Burst(i)));
        }

        while (queue.TryDequeue(out _))
        {
            messages++;
        }

        for (int i = 0; i < LightMessagesPerCycle; i++)
        {
            Assert.True(queue.TryEnqueue(new Burst(i)));
            Assert.True(queue.TryDequeue(out _));
            Assert.False(queue.TryDequeue(out _));
            messages++;
        }

        return messages;
    }

    private static int BurstCycle(BoundedSpmcQueue<Burst> queue)
    {
        int messages = 0;
        for (int i = 0; i < 1500; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(new Burst(i)));
        }

        queue.Announce();
        while (queue.TryDequeue(out _))
        {
            messages++;
        }

        for (int i = 0; i < LightMessagesPerCycle; i++)
        {
            Assert.True(queue.TryEnqueueUnannounced(new Burst(i)));
            queue.Announce();
            Assert.True(queue.TryDequeue(out _));
            messages++;
        }

        return messages;
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
        bool shrankInTheQuietPeriod = false;
        var threads = new Thread[producers];

        // Halfway, every producer waits until the consumer has drained the queue and let two trim ticks pass: a quiet
        // period no schedule can take away, so the shrink is checked in every run and the producers resume on the
        // smaller ring. Before and after it, trim ticks race the producers as they happen to fall.
        using var halfway = new CountdownEvent(producers);
        using var resume = new ManualResetEventSlim();
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            threads[p] = new Thread(() =>
            {
                for (int s = 0; s < perProducer; s++)
                {
                    if (s == perProducer / 2)
                    {
                        halfway.Signal();
                        Assert.True(resume.Wait(JoinLimit), "the consumer never ended the quiet period");
                    }

                    Assert.Equal(QueueWaitResult.Success, queue.Enqueue(new Item(producer, s), JoinLimit));
                }
            }) { IsBackground = true };
        }

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        bool grows = capacity > BoundedMpscQueue<Item>.InitialSlots;
        if (grows)
        {
            // The consumer starts late, so the producers grow the queue in every run, whatever the scheduler does later.
            Assert.True(
                SpinWait.SpinUntil(() => queue.Count >= capacity / 2 || halfway.IsSet, JoinLimit),
                "the producers never filled half the queue");
        }

        var expected = new int[producers];
        long taken = 0;
        long total = (long)producers * perProducer;
        var random = new Random(7);
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (taken < total)
        {
            Assert.True(deadline.Elapsed < JoinLimit, $"{taken} of {total} items arrived before the limit");
            if (halfway.IsSet && !resume.IsSet)
            {
                while (queue.TryDequeue(out Item item))
                {
                    Assert.Equal(expected[item.Producer], item.Sequence);
                    expected[item.Producer]++;
                    taken++;
                }

                if (grows && queue.CurrentRingSize <= BoundedMpscQueue<Item>.InitialSlots)
                {
                    // Trims racing the producers may have shrunk the ring already. The producers are paused, so this
                    // thread grows it again itself (any thread may produce), then takes back what it added: the quiet
                    // period below then always starts from a grown ring.
                    for (int k = 0; k < capacity / 2; k++)
                    {
                        Assert.True(queue.TryEnqueue(new Item(-1, k)));
                    }

                    for (int k = 0; k < capacity / 2; k++)
                    {
                        Assert.True(queue.TryDequeue(out Item filler));
                        Assert.Equal(new Item(-1, k), filler);
                    }
                }

                int grown = queue.CurrentRingSize;
                maxRing = Math.Max(maxRing, grown);
                queue.TrimIfQuiet(); // the period that ends here held the drain: too busy to shrink
                Assert.False(queue.TryDequeue(out _));
                queue.TrimIfQuiet(); // a whole period with nothing taken
                shrankInTheQuietPeriod = queue.CurrentRingSize < grown;
                resume.Set();
            }

            // Alternate stalls (producers fill and grow the queue) with runs of small drains and trims (which shrink it).
            if (random.Next(64) == 0)
            {
                Thread.Sleep(1);
            }

            int batch = random.Next(1, 8);
            int took = 0;
            for (; took < batch && queue.TryDequeue(out Item item); took++)
            {
                Assert.Equal(expected[item.Producer], item.Sequence);
                expected[item.Producer]++;
                taken++;
            }

            if (took < batch)
            {
                queue.TrimIfQuiet(); // found empty: a trim tick races the producers that grow the queue
            }

            maxRing = Math.Max(maxRing, queue.CurrentRingSize);
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
            Assert.True(shrankInTheQuietPeriod, "a quiet period did not shrink the grown queue");
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
                var deadline = System.Diagnostics.Stopwatch.StartNew();
                while (Volatile.Read(ref taken) < Total && deadline.Elapsed < JoinLimit)
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

        var producing = System.Diagnostics.Stopwatch.StartNew();
        int shrinks = 0;
        for (int i = first; i < Total;)
        {
            Assert.True(producing.Elapsed < JoinLimit, $"{i} of {Total} items enqueued before the limit");
            if (queue.TryEnqueue(i))
            {
                i++;
            }
            else
            {
                Thread.Yield();
            }

            if (i % 512 == 0)
            {
                queue.TrimIfQuiet(); // a trim tick on the producer's side, racing consumers that take and move past rings
            }

            if (i % 16_384 == 0)
            {
                // Now and then a quiet period: the consumers empty the queue, and the next tick shrinks it under them.
                while (queue.Count > 0 && producing.Elapsed < JoinLimit)
                {
                    Thread.Yield();
                }

                // The first tick closes a period that held the last burst; the next ones find a whole period with
                // nothing enqueued, and shrink as soon as a consumer has moved onto the producers' ring.
                int before = queue.CurrentRingSize;
                for (int tick = 0; tick < 1_000 && queue.CurrentRingSize == before; tick++)
                {
                    queue.TrimIfQuiet();
                    Thread.Yield();
                }

                shrinks += queue.CurrentRingSize < before ? 1 : 0;
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
        Assert.True(shrinks > 0, "the queue never shrank");
    }
}
