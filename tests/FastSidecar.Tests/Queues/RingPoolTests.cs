using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

public sealed class RingPoolTests
{
    // Capacities no other code path uses, so the pool's contents are this test's alone.
    private const int Capacity = 1 << 9;

    [Fact]
    public void A_returned_drained_ring_is_handed_to_the_next_renter()
    {
        MpscRing<long> ring = RingPool<MpscRing<long>>.Rent(Capacity);
        Assert.True(ring.TryEnqueue(7));
        Assert.True(ring.TryDequeue(out _));
        RingPool<MpscRing<long>>.Return(ring);

        MpscRing<long> next = RingPool<MpscRing<long>>.Rent(Capacity);
        Assert.Same(ring, next);
        // Positions keep counting from where they stopped: a full lap still works without a reset.
        for (int i = 0; i < Capacity; i++)
        {
            Assert.True(next.TryEnqueue(i));
        }

        Assert.False(next.TryEnqueue(-1));
        for (int i = 0; i < Capacity; i++)
        {
            Assert.True(next.TryDequeue(out long item));
            Assert.Equal(i, item);
        }

        RingPool<MpscRing<long>>.Return(next);
    }

    [Fact]
    public void A_queue_recycles_its_ring_only_when_completed_and_empty()
    {
        var queue = new BoundedSpmcQueue<int>(Capacity * 2, pooledRing: true);
        Assert.True(queue.TryEnqueue(1));
        Assert.False(queue.RecycleRing()); // not completed
        queue.Complete();
        Assert.False(queue.RecycleRing()); // completed, but an item is still queued
        Assert.True(queue.TryDequeue(out _));
        Assert.True(queue.RecycleRing());
        Assert.False(queue.RecycleRing()); // idempotent: the ring is gone
        Assert.Equal(0, queue.Count);
        Assert.Equal(Capacity * 2, queue.Capacity);
        Assert.Throws<InvalidOperationException>(() => queue.TryDequeue(out _));
    }

    [Fact]
    public void A_recycled_send_queue_refuses_use_loudly_instead_of_reaching_the_next_owner()
    {
        var first = new BoundedMpscQueue<int>(Capacity * 4, pooledRing: true);
        first.Complete();
        Assert.True(first.RecycleRing());

        var second = new BoundedMpscQueue<int>(Capacity * 4, pooledRing: true);
        Assert.True(second.TryEnqueue(42));
        Assert.Equal(QueueWaitResult.Completed, first.Enqueue(1, TimeSpan.FromSeconds(1))); // refused before the ring
        Assert.Throws<InvalidOperationException>(() => first.TryDequeue(out _));
        Assert.True(second.TryDequeue(out int item));
        Assert.Equal(42, item);
        Assert.False(second.TryDequeue(out _));
    }
}
