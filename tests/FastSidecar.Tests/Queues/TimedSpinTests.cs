using System.Diagnostics;
using FastSidecar.Queues;

namespace FastSidecar.Tests.Queues;

public sealed class TimedSpinTests
{
    [Fact]
    public void A_consumer_that_spins_by_time_is_woken_whether_the_item_comes_while_it_spins_or_after_it_parked()
    {
        const int Rounds = 2_000;
        var queue = new BoundedSpmcQueue<int>(2048, WaitPolicy.For(WaitStrategy.SpinThenPark, TimeSpan.FromMicroseconds(50))); // never full: only wake-ups are tested
        int refused = 0;
        var producer = new Thread(() =>
        {
            var random = new Random(7);
            for (int i = 0; i < Rounds; i++)
            {
                // Some items land inside the spin window, some well after the consumer parked.
                if (random.Next(4) == 0)
                {
                    Thread.Sleep(1);
                }
                else
                {
                    Thread.SpinWait(random.Next(2_000));
                }

                if (!queue.TryEnqueue(i))
                {
                    Interlocked.Increment(ref refused);
                }
            }
        });
        producer.Start();
        for (int i = 0; i < Rounds; i++)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(QueueWaitResult.Success, queue.Dequeue(out int item, TimeSpan.FromSeconds(10)));
            Assert.Equal(i, item);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"round {i} waited {clock.Elapsed}: a lost wake-up rescued late");
        }

        Assert.True(producer.Join(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, refused);
    }

    [Fact]
    public void A_timed_spin_honours_a_timeout_shorter_than_the_spin()
    {
        var queue = new BoundedSpmcQueue<int>(16, WaitPolicy.For(WaitStrategy.SpinThenPark, TimeSpan.FromSeconds(1)));
        var clock = Stopwatch.StartNew();
        Assert.Equal(QueueWaitResult.TimedOut, queue.Dequeue(out _, TimeSpan.FromMilliseconds(20)));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(19), TimeSpan.FromSeconds(2));
    }
}
