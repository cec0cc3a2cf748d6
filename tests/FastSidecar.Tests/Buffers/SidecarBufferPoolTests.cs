using System.Buffers;
using FastSidecar.Buffers;

namespace FastSidecar.Tests.Buffers;

public class SidecarBufferPoolTests
{
    [Fact]
    public void Rent_and_return_are_counted()
    {
        var pool = new SidecarBufferPool();
        byte[] a = pool.Rent(100);
        byte[] b = pool.Rent(5000);
        Assert.True(a.Length >= 100);
        Assert.True(b.Length >= 5000);
        Assert.Equal(2, pool.Outstanding);
        Assert.Equal(2, pool.TotalRentals);

        pool.Return(a);
        Assert.Equal(1, pool.Outstanding);
        pool.Return(b);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(2, pool.TotalRentals);
    }

    [Fact]
    public void Double_return_is_refused_and_not_counted_twice()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        byte[] a = pool.Rent(64);
        byte[] keep = pool.Rent(64);
        Assert.True(pool.TryReturn(a));
        Assert.False(pool.TryReturn(a));
        Assert.Equal(1, pool.Outstanding);
        pool.Return(keep);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Returning_an_array_never_rented_is_refused()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        Assert.False(pool.TryReturn(new byte[16]));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Zero_length_rent_gives_the_empty_array_and_its_return_is_a_no_op()
    {
        var pool = new SidecarBufferPool();
        byte[] empty = pool.Rent(0);
        Assert.Empty(empty);
        Assert.Equal(0, pool.Outstanding);
        pool.Return(empty);
        pool.Return(empty);
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(0, pool.TotalRentals);
    }

    [Fact]
    public void Negative_length_is_rejected()
    {
        var pool = new SidecarBufferPool();
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(-1));
    }

    [Fact]
    public void Memory_pool_rents_are_counted_and_owners_are_recycled()
    {
        var pool = new SidecarBufferPool();
        MemoryPool<byte> memoryPool = pool.AsMemoryPool();
        Assert.Same(memoryPool, pool.AsMemoryPool());

        IMemoryOwner<byte> first = memoryPool.Rent(100);
        Assert.True(first.Memory.Length >= 100);
        IMemoryOwner<byte> defaultSized = memoryPool.Rent();
        Assert.True(defaultSized.Memory.Length >= 4096);
        Assert.Equal(2, pool.Outstanding);

        first.Dispose();
        first.Dispose(); // a second dispose of the same lease must not return the array twice
        defaultSized.Dispose();
        Assert.Equal(0, pool.Outstanding);

        IMemoryOwner<byte> again = memoryPool.Rent(100);
        Assert.True(ReferenceEquals(again, first) || ReferenceEquals(again, defaultSized), "owners should be recycled");
        again.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Memory_pool_rent_does_not_allocate_in_steady_state()
    {
        var pool = new SidecarBufferPool();
        MemoryPool<byte> memoryPool = pool.AsMemoryPool();
        for (int i = 0; i < 100; i++)
        {
            memoryPool.Rent(4096).Dispose();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            memoryPool.Rent(4096).Dispose();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1000, $"{allocated} bytes allocated by 1000 rents: rents should not allocate");
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public async Task Pipe_over_the_memory_pool_returns_every_segment()
    {
        var pool = new SidecarBufferPool();
        var pipe = new System.IO.Pipelines.Pipe(new System.IO.Pipelines.PipeOptions(pool: pool.AsMemoryPool(), pauseWriterThreshold: 0, minimumSegmentSize: 512));
        byte[] data = new byte[100_000];
        Random.Shared.NextBytes(data);
        await pipe.Writer.WriteAsync(data);
        Assert.True(pool.Outstanding > 0);
        await pipe.Writer.CompleteAsync();

        var received = new List<byte>();
        while (true)
        {
            System.IO.Pipelines.ReadResult result = await pipe.Reader.ReadAsync();
            received.AddRange(result.Buffer.ToArray());
            pipe.Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await pipe.Reader.CompleteAsync();
        Assert.Equal(data, received.ToArray());
        Assert.Equal(0, pool.Outstanding);
    }
}
