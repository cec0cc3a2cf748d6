using FastSidecar.Buffers;
using FastSidecar.Queues;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Buffers;

/// <remarks>
/// Every <see cref="SidecarBufferPool"/> draws its arrays from the process-wide <see cref="SizeClassArrayPool.Shared"/>
/// rings, which these tests read (free counts, which array comes back next). Tests running in parallel would rent from
/// and return to the same rings, so this class runs in the non-parallel resource-counting collection.
/// </remarks>
[Collection(ResourceCountingGroup.Name)]
public sealed class CrossThreadReuseTests
{
    [Theory]
    [InlineData(1, 16)]
    [InlineData(16, 16)]
    [InlineData(17, 32)]
    [InlineData(64, 64)]
    [InlineData(1000, 1024)]
    [InlineData(65_536, 65_536)]
    [InlineData(65_537, 131_072)]
    public void Rent_gives_the_power_of_two_size_class(int requested, int expected)
    {
        var pool = new SidecarBufferPool();
        byte[] array = pool.Rent(requested);
        Assert.Equal(expected, array.Length);
        pool.Return(array);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void An_array_returned_on_another_thread_is_rented_again()
    {
        var pool = new SidecarBufferPool();
        byte[] first = pool.Rent(200); // a class no other test in this file uses, so nothing else feeds it
        var returner = new Thread(() => pool.Return(first));
        returner.Start();
        returner.Join();

        // The ring is FIFO and other tests may have left arrays in it: the returned one comes back within one lap.
        var seen = new List<byte[]>();
        bool found = false;
        for (int i = 0; i < SizeClassArrayPool.RetainedPerClass(256) && !found; i++)
        {
            byte[] next = pool.Rent(200);
            seen.Add(next);
            found = ReferenceEquals(next, first);
        }

        seen.ForEach(pool.Return);
        Assert.True(found, "the array returned on another thread was not found by the next renters");
        Assert.Equal(0, pool.Outstanding);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(1024)]
    [InlineData(4096)]
    public void Renting_on_one_thread_and_returning_on_another_allocates_nothing_after_warm_up(int size)
    {
        const int Warmup = 2_000;
        const int Measured = 20_000;
        var pool = new SidecarBufferPool();
        var handoff = new MpscRing<byte[]>(256);
        long returnerAllocated = -1;
        long returned = 0;
        long measureFrom = long.MaxValue;

        var returner = new Thread(() =>
        {
            long start = 0;
            long done = 0;
            while (done < Warmup + Measured)
            {
                if (handoff.TryDequeue(out byte[] array))
                {
                    if (done == Volatile.Read(ref measureFrom))
                    {
                        start = GC.GetAllocatedBytesForCurrentThread();
                    }

                    pool.Return(array);
                    done++;
                    Volatile.Write(ref returned, done);
                }
                else
                {
                    Thread.SpinWait(8);
                }
            }

            returnerAllocated = GC.GetAllocatedBytesForCurrentThread() - start;
        });

        // Steady state means the class already holds as many arrays as can ever be out at once: the handoff's 256,
        // one the returner holds and one the renter holds. Fill it past that first, then warm up across threads.
        var prefill = new List<byte[]>();
        for (int i = 0; i < 300; i++)
        {
            prefill.Add(pool.Rent(size));
        }

        prefill.ForEach(pool.Return);
        measureFrom = Warmup;
        returner.Start();
        Pump(Warmup);
        while (Volatile.Read(ref returned) < Warmup)
        {
            Thread.Yield();
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        Pump(Measured);
        long renterAllocated = GC.GetAllocatedBytesForCurrentThread() - before;
        returner.Join();

        Assert.Equal(0, renterAllocated);
        Assert.Equal(0, returnerAllocated);
        Assert.Equal(0, pool.Outstanding);

        void Pump(int count)
        {
            for (int i = 0; i < count; i++)
            {
                byte[] array = pool.Rent(size);
                while (!handoff.TryEnqueue(array))
                {
                    Thread.SpinWait(8);
                }
            }
        }
    }

    [Fact]
    public void A_full_class_leaves_extra_arrays_to_the_collector_and_counts_stay_exact()
    {
        var pool = new SidecarBufferPool();
        int bound = SizeClassArrayPool.RetainedPerClass(32_768);
        var rented = new List<byte[]>();
        for (int i = 0; i < bound + 10; i++)
        {
            rented.Add(pool.Rent(32_768));
        }

        rented.ForEach(pool.Return);
        Assert.Equal(0, pool.Outstanding);
        Assert.InRange(SizeClassArrayPool.Shared.FreeCount(32_768), 1, bound);
    }

    [Fact]
    public void Many_threads_renting_and_returning_never_share_an_array()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var threads = new Thread[4];
        int corrupted = 0;
        for (int t = 0; t < threads.Length; t++)
        {
            byte marker = (byte)(t + 1);
            threads[t] = new Thread(() =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    byte[] array = pool.Rent(48);
                    array.AsSpan().Fill(marker);
                    Thread.SpinWait(i % 16);
                    if (array.AsSpan().IndexOfAnyExcept(marker) >= 0)
                    {
                        Interlocked.Increment(ref corrupted);
                    }

                    pool.Return(array);
                }
            });
        }

        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(0, corrupted);
        Assert.Equal(0, pool.Outstanding);
    }
}
