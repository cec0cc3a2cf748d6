using System.Runtime.CompilerServices;
using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

public class RingTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(-4)]
    public void Capacity_must_be_a_power_of_two_of_at_least_2(int capacity)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SpmcRing<int>(capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MpscRing<int>(capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedMpscQueue<int>(capacity));
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoundedSpmcQueue<int>(capacity));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1024)]
    public void Capacity_is_reported(int capacity)
    {
        Assert.Equal(capacity, new SpmcRing<int>(capacity).Capacity);
        Assert.Equal(capacity, new BoundedMpscQueue<int>(capacity).Capacity);
        Assert.Equal(capacity, new BoundedSpmcQueue<int>(capacity).Capacity);
    }

    [Fact]
    public void Spmc_empty_ring_dequeues_nothing()
    {
        var ring = new SpmcRing<int>(4);
        Assert.True(ring.IsEmpty);
        Assert.Equal(0, ring.Count);
        Assert.False(ring.TryDequeue(out int item));
        Assert.Equal(0, item);
    }

    [Fact]
    public void Spmc_fills_to_capacity_then_refuses_then_accepts_after_one_dequeue()
    {
        var ring = new SpmcRing<int>(8);
        for (int i = 0; i < 8; i++)
        {
            Assert.True(ring.TryEnqueue(i));
        }

        Assert.Equal(8, ring.Count);
        Assert.False(ring.TryEnqueue(99));
        Assert.True(ring.TryDequeue(out int first));
        Assert.Equal(0, first);
        Assert.True(ring.TryEnqueue(8));
        Assert.False(ring.TryEnqueue(100));
        for (int i = 1; i <= 8; i++)
        {
            Assert.True(ring.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.True(ring.IsEmpty);
        Assert.False(ring.TryDequeue(out _));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(16)]
    public void Spmc_keeps_fifo_across_many_laps_with_varying_fill(int capacity)
    {
        var ring = new SpmcRing<long>(capacity);
        var random = new Random(capacity);
        long produced = 0, consumed = 0;
        while (consumed < capacity * 1000L)
        {
            int burst = random.Next(1, capacity + 1);
            for (int i = 0; i < burst && ring.TryEnqueue(produced); i++)
            {
                produced++;
            }

            int take = random.Next(1, capacity + 1);
            for (int i = 0; i < take && ring.TryDequeue(out long item); i++)
            {
                Assert.Equal(consumed++, item);
            }

            if (produced - consumed == capacity)
            {
                Assert.False(ring.TryEnqueue(-1));
            }

            Assert.Equal(produced - consumed, ring.Count);
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(16)]
    public void Mpsc_keeps_fifo_across_many_laps_with_varying_fill(int capacity)
    {
        var ring = new MpscRing<long>(capacity);
        var random = new Random(capacity);
        long produced = 0, consumed = 0;
        while (consumed < capacity * 1000L)
        {
            int burst = random.Next(1, capacity + 1);
            for (int i = 0; i < burst && ring.TryEnqueue(produced); i++)
            {
                produced++;
            }

            if (produced - consumed == capacity)
            {
                Assert.False(ring.TryEnqueue(-1));
            }

            Assert.Equal(produced - consumed, ring.Count);
            int take = random.Next(1, capacity + 1);
            for (int i = 0; i < take && ring.TryDequeue(out long item); i++)
            {
                Assert.Equal(consumed++, item);
            }
        }
    }

    [Fact]
    public void Spmc_dequeue_drops_the_reference_from_the_slot()
    {
        var ring = new SpmcRing<object?>(4);
        WeakReference weak = EnqueueAndDequeue(ring);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive);
        GC.KeepAlive(ring);
    }

    [Fact]
    public void Mpsc_dequeue_drops_the_reference_from_the_slot()
    {
        var ring = new MpscRing<object?>(4);
        WeakReference weak = EnqueueAndDequeue(ring);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(weak.IsAlive);
        GC.KeepAlive(ring);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference EnqueueAndDequeue(SpmcRing<object?> ring)
    {
        var payload = new byte[64];
        Assert.True(ring.TryEnqueue(payload));
        Assert.True(ring.TryDequeue(out object? item));
        Assert.Same(payload, item);
        return new WeakReference(payload);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference EnqueueAndDequeue(MpscRing<object?> ring)
    {
        var payload = new byte[64];
        Assert.True(ring.TryEnqueue(payload));
        Assert.True(ring.TryDequeue(out object? item));
        Assert.Same(payload, item);
        return new WeakReference(payload);
    }
}
