using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

[Collection(ProcessWideLoopGroup.Name)] // CPU-hungry (a busy-spinning loop); keep it off the shared cores of parallel tests
public sealed class LoopWakeTests
{
    public static TheoryData<WaitStrategy, bool> Strategies => new()
    {
        { WaitStrategy.Blocking, false },
        { WaitStrategy.SpinThenPark, false },
        { WaitStrategy.BusySpin, false },
        { WaitStrategy.Blocking, true },
    };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void Ten_thousand_posts_in_a_row_are_each_answered_without_a_lost_wake_up(WaitStrategy strategy, bool portable)
    {
        // A short spin makes SpinThenPark park between posts too, so the wake-up path is what is exercised.
        using var loop = new SidecarLoop(new SidecarLoopOptions
        {
            WaitStrategy = strategy,
            SpinDuration = TimeSpan.FromMicroseconds(2),
            ForcePortableSelector = portable,
        });
        using var answered = new ManualResetEventSlim(false, spinCount: 1);
        Action answer = answered.Set;
        const int iterations = 10_000;
        for (int i = 0; i < iterations; i++)
        {
            answered.Reset();
            if (strategy != WaitStrategy.BusySpin && i % 10 == 0)
            {
                // Every tenth post goes to a loop that has announced it is parking (it may or may not be inside
                // epoll_wait yet: both sides of the race are exercised); the others catch it wherever it is.
                Assert.True(SpinWait.SpinUntil(() => loop.IsParked, LoopTestSupport.Generous));
            }

            loop.Post(answer);
            Assert.True(answered.Wait(LoopTestSupport.Generous), $"post {i} was not answered: lost wake-up");
        }

        if (strategy == WaitStrategy.BusySpin)
        {
            Assert.Equal(0, loop.Parks);
            Assert.Equal(0, loop.WakeSignals); // the loop never parked, so no post made a system call
        }
        else
        {
            Assert.True(loop.Parks > 0);
            Assert.InRange(loop.WakeSignals, 1, loop.Parks); // at most one signal per park, however many posts
        }
    }

    [Fact]
    public void Many_producers_against_a_parking_loop_lose_nothing()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking, RunQueueCapacity = 64 });
        const int producers = 4;
        const int perProducer = 5_000;
        int ran = 0;
        Action increment = () => ran++;
        Thread[] threads = Enumerable.Range(0, producers).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < perProducer; i++)
            {
                loop.Post(increment);
                if (i % 64 == 0)
                {
                    Thread.Yield(); // let the loop drain and park again
                }
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(LoopTestSupport.Generous));
        }

        Assert.Equal(producers * perProducer, loop.OnLoop(() => ran));
        Assert.True(loop.WakeSignals <= loop.Parks + 1);
    }

    [Fact]
    public void Posts_to_an_awake_loop_make_no_system_call()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking });
        using var release = new ManualResetEventSlim();
        using var running = new ManualResetEventSlim();
        int ran = 0;
        loop.Post(() =>
        {
            running.Set();
            release.Wait(); // keeps the loop awake (busy in this callback) while the posts below arrive
        });
        Assert.True(running.Wait(LoopTestSupport.Generous));
        long signalsBefore = loop.WakeSignals;
        for (int i = 0; i < 1_000; i++)
        {
            loop.Post(() => ran++);
        }

        Assert.Equal(signalsBefore, loop.WakeSignals);
        release.Set();
        Assert.Equal(1_000, loop.OnLoop(() => ran));
    }
}
