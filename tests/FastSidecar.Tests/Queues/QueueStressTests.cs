using System.Diagnostics;
using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

/// <summary>
/// Many threads through the queues with small capacities and short spins, so that producers park on a full queue
/// and consumers park on an empty one throughout; every item must arrive exactly once and in per-producer order.
/// A lost wake-up shows as a wait that reaches its (long) timeout, which these tests turn into a failure.
/// </summary>
[Collection(QueueStressGroup.Name)]
public class QueueStressTests
{
    private const int TotalItems = 200_000;
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan JoinLimit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A waiter re-checks its condition when its timeout expires, so a lost wake-up can surface as a success that
    /// arrived only at the deadline rather than as a time-out; wake-up tests therefore fail on either.
    /// </summary>
    private static void AssertWokenInTime(QueueWaitResult result, long startTimestamp, int round)
    {
        TimeSpan elapsed = Stopwatch.GetElapsedTime(startTimestamp);
        Assert.True(result == QueueWaitResult.Success, $"round {round}: {result}, a lost wake-up");
        Assert.True(elapsed < WaitLimit / 2, $"round {round}: woken only after {elapsed}, a lost wake-up rescued by the timeout");
    }

    /// <summary>The shape of the real outbound descriptor: 16 bytes, no references.</summary>
    private readonly record struct Item(int Producer, int Sequence, long Payload);

    /// <summary>The loop's own wake-up, reduced to what the MPSC consumer waits for: anything queued.</summary>
    private readonly struct NotEmpty(BoundedMpscQueue<Item> queue) : IWaitCondition
    {
        public bool IsSatisfied => queue.Count > 0;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    public void Mpsc_delivers_every_item_once_in_per_producer_order_with_parking_on_both_sides(int producers)
    {
        var queue = new BoundedMpscQueue<Item>(64, WaitPolicy.Spins(2));
        var consumerSignal = new WaitSignal(WaitPolicy.Spins(2)); // stands in for SidecarLoop.Wake
        int perProducer = TotalItems / producers;
        var threads = new TestThreads();
        for (int p = 0; p < producers; p++)
        {
            int producer = p;
            threads.Start($"producer {p}", () =>
            {
                for (int s = 0; s < perProducer; s++)
                {
                    QueueWaitResult result = queue.Enqueue(new Item(producer, s, ~(long)s), WaitLimit);
                    Assert.Equal(QueueWaitResult.Success, result);
                    consumerSignal.Notify();
                }
            });
        }

        var next = new int[producers];
        long received = 0, consumerWaits = 0;
        var watch = Stopwatch.StartNew();
        while (received < (long)perProducer * producers)
        {
            if (queue.TryDequeue(out Item item))
            {
                Assert.Equal(next[item.Producer]++, item.Sequence);
                Assert.Equal(~(long)item.Sequence, item.Payload);
                received++;
                continue;
            }

            consumerWaits++;
            long started = Stopwatch.GetTimestamp();
            bool woken = consumerSignal.Wait(new NotEmpty(queue), WaitSignal.DeadlineFrom(WaitLimit));
            AssertWokenInTime(woken ? QueueWaitResult.Success : QueueWaitResult.TimedOut, started, (int)received);
        }

        threads.JoinAll(JoinLimit);
        Assert.All(next, n => Assert.Equal(perProducer, n));
        Assert.False(queue.TryDequeue(out _));
        Assert.Equal(0, queue.Count);
        Assert.True(consumerWaits > 0, "the consumer never had to wait; the test did not exercise parking");
        Assert.True(watch.Elapsed < JoinLimit);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Spmc_delivers_every_item_exactly_once_to_many_consumers(int consumers)
    {
        var queue = new BoundedSpmcQueue<Item>(64, WaitPolicy.Spins(2));
        var taken = new List<int>[consumers];
        var threads = new TestThreads();
        for (int c = 0; c < consumers; c++)
        {
            var mine = taken[c] = new List<int>(TotalItems);
            threads.Start($"consumer {c}", () =>
            {
                while (true)
                {
                    QueueWaitResult result = queue.Dequeue(out Item item, WaitLimit);
                    if (result == QueueWaitResult.Completed)
                    {
                        return;
                    }

                    Assert.Equal(QueueWaitResult.Success, result);
                    Assert.Equal(~(long)item.Sequence, item.Payload);
                    mine.Add(item.Sequence);
                }
            });
        }

        var spinner = default(SpinWait);
        for (int s = 0; s < TotalItems; s++)
        {
            // The loop never blocks on a full receive queue; here it just retries.
            while (!queue.TryEnqueue(new Item(0, s, ~(long)s)))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        queue.Complete();
        threads.JoinAll(JoinLimit);

        var seen = new bool[TotalItems];
        foreach (List<int> mine in taken)
        {
            for (int i = 0; i < mine.Count; i++)
            {
                Assert.False(seen[mine[i]], $"item {mine[i]} delivered twice");
                seen[mine[i]] = true;
                // One producer and FIFO claims: each consumer sees an increasing subsequence.
                Assert.True(i == 0 || mine[i - 1] < mine[i], "a consumer saw items out of order");
            }
        }

        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void Spmc_ping_pong_with_random_spins_never_loses_a_wake_up()
    {
        const int Rounds = 5_000;
        // Each side parks without spinning half of the time, so both the spin path and the park path race the
        // producer's notify at random offsets.
        var ping = new BoundedSpmcQueue<int>(2, WaitPolicy.Spins(0));
        var pong = new BoundedSpmcQueue<int>(2, WaitPolicy.Spins(3));
        var threads = new TestThreads();
        threads.Start("ponger", () =>
        {
            var random = new Random(2);
            for (int r = 0; r < Rounds; r++)
            {
                long started = Stopwatch.GetTimestamp();
                AssertWokenInTime(ping.Dequeue(out int value, WaitLimit), started, r);
                Assert.Equal(r, value);
                Thread.SpinWait(random.Next(0, 200));
                Assert.True(pong.TryEnqueue(value));
            }
        });

        var random = new Random(1);
        for (int r = 0; r < Rounds; r++)
        {
            Thread.SpinWait(random.Next(0, 200));
            Assert.True(ping.TryEnqueue(r));
            long started = Stopwatch.GetTimestamp();
            QueueWaitResult result = pong.Dequeue(out int echoed, WaitLimit);
            AssertWokenInTime(result, started, r);
            Assert.Equal(r, echoed);
        }

        threads.JoinAll(JoinLimit);
    }

    [Fact]
    public void Spmc_racing_handoff_with_random_offsets_never_loses_a_wake_up()
    {
        // Both threads leave a common start line each round and reach TryEnqueue / Dequeue after independent random
        // spins, so over many rounds the enqueue lands everywhere around the consumer's check-announce-park window;
        // the consumer never spins, so every miss of its first check goes through the park path.
        const int Rounds = 30_000;
        var queue = new BoundedSpmcQueue<int>(2, WaitPolicy.Spins(0));
        int start = 0; // round the producer may start; written by the consumer once it has the previous item
        var threads = new TestThreads();
        threads.Start("producer", () =>
        {
            var random = new Random(5);
            for (int r = 0; r < Rounds; r++)
            {
                var wait = default(SpinWait);
                while (Volatile.Read(ref start) != r)
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                }

                Thread.SpinWait(random.Next(0, 64));
                Assert.True(queue.TryEnqueue(r));
            }
        });

        var random = new Random(6);
        int parks = 0;
        for (int r = 0; r < Rounds; r++)
        {
            Volatile.Write(ref start, r);
            Thread.SpinWait(random.Next(0, 64));
            parks += queue.Count == 0 ? 1 : 0;
            long started = Stopwatch.GetTimestamp();
            QueueWaitResult result = queue.Dequeue(out int value, WaitLimit);
            AssertWokenInTime(result, started, r);
            Assert.Equal(r, value);
        }

        threads.JoinAll(JoinLimit);
        Assert.True(parks > 0, "the consumer always found the item waiting; the wake-up path was not exercised");
    }

    [Fact]
    public void Mpsc_racing_space_handoff_with_random_offsets_never_loses_a_wake_up()
    {
        // The queue is full at each start line; the producer's Enqueue and the consumer's TryDequeue leave it after
        // independent random spins, so the freed slot lands everywhere around the producer's check-announce-park window.
        const int Rounds = 30_000;
        var queue = new BoundedMpscQueue<int>(2, WaitPolicy.Spins(0));
        Assert.True(queue.TryEnqueue(-2));
        Assert.True(queue.TryEnqueue(-1));
        int start = 0; // written by the consumer
        int done = 0;  // rounds the producer has finished; written by the producer
        var threads = new TestThreads();
        threads.Start("producer", () =>
        {
            var random = new Random(7);
            for (int r = 0; r < Rounds; r++)
            {
                var wait = default(SpinWait);
                while (Volatile.Read(ref start) != r)
                {
                    wait.SpinOnce(sleep1Threshold: -1);
                }

                Thread.SpinWait(random.Next(0, 64));
                long started = Stopwatch.GetTimestamp();
                AssertWokenInTime(queue.Enqueue(r, WaitLimit), started, r);
                Volatile.Write(ref done, r + 1);
            }
        });

        var random = new Random(8);
        for (int r = 0; r < Rounds; r++)
        {
            Volatile.Write(ref start, r);
            Thread.SpinWait(random.Next(0, 64));
            Assert.True(queue.TryDequeue(out int value));
            Assert.Equal(r - 2, value);
            int round = r;
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref done) > round, WaitLimit), $"round {r}: the producer is stuck");
        }

        threads.JoinAll(JoinLimit);
    }

    [Fact]
    public void Mpsc_full_queue_ping_pong_with_random_spins_never_loses_a_space_wake_up()
    {
        const int Rounds = 5_000;
        var queue = new BoundedMpscQueue<int>(2, WaitPolicy.Spins(0));
        var consumerSignal = new WaitSignal(WaitPolicy.Spins(0));
        var threads = new TestThreads();
        threads.Start("producer", () =>
        {
            // Capacity 2 and every other enqueue finds the queue full: the producer parks on space each round.
            for (int r = 0; r < Rounds; r++)
            {
                long started = Stopwatch.GetTimestamp();
                AssertWokenInTime(queue.Enqueue(r, WaitLimit), started, r);
                consumerSignal.Notify();
            }
        });

        var random = new Random(3);
        for (int r = 0; r < Rounds; r++)
        {
            while (queue.Count < Math.Min(2, Rounds - r))
            {
                Assert.True(consumerSignal.Wait(new Filled(queue, Math.Min(2, Rounds - r)), WaitSignal.DeadlineFrom(WaitLimit)));
            }

            Thread.SpinWait(random.Next(0, 200));
            int value = -1;
            // Count includes a slot claimed but not yet written; the write lands within a few instructions.
            Assert.True(SpinWait.SpinUntil(() => queue.TryDequeue(out value), WaitLimit));
            Assert.Equal(r, value);
        }

        threads.JoinAll(JoinLimit);
    }

    private readonly struct Filled(BoundedMpscQueue<int> queue, int count) : IWaitCondition
    {
        public bool IsSatisfied => queue.Count >= count;
    }
}
