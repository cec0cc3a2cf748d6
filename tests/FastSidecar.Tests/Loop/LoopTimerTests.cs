using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

public sealed class LoopTimerTests
{
    private static readonly TimeSpan Generous = LoopTestSupport.Generous;

    [Fact]
    public void Timers_fire_in_due_order_on_the_loop_thread()
    {
        using var loop = new SidecarLoop();
        int[] dues = [40, 5, 25, 15, 35, 10, 30, 20, 0, 45];
        var fired = new List<int>();
        var threads = new List<int>();
        using var done = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            foreach (int due in dues)
            {
                loop.ScheduleTimer(TimeSpan.FromMilliseconds(due), state =>
                {
                    fired.Add((int)state!);
                    threads.Add(Environment.CurrentManagedThreadId);
                    if (fired.Count == dues.Length)
                    {
                        done.Set();
                    }
                }, due);
            }
        });

        Assert.True(done.Wait(Generous));
        Assert.Equal(dues.Order(), loop.OnLoop(() => fired.ToArray()));
        Assert.All(loop.OnLoop(() => threads.ToArray()), id => Assert.Equal(loop.ThreadId, id));
    }

    [Fact]
    public void Timers_with_the_same_due_time_fire_in_scheduling_order()
    {
        using var loop = new SidecarLoop();
        var fired = new List<int>();
        using var done = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            for (int i = 0; i < 50; i++)
            {
                loop.ScheduleTimer(TimeSpan.Zero, state => fired.Add((int)state!), i);
            }

            loop.ScheduleTimer(TimeSpan.FromMilliseconds(1), _ => done.Set(), null);
        });

        Assert.True(done.Wait(Generous));
        Assert.Equal(Enumerable.Range(0, 50), loop.OnLoop(() => fired.ToArray()));
    }

    [Fact]
    public void A_timer_does_not_fire_before_it_is_due()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking });
        long scheduledAt = 0;
        long firedAt = 0;
        using var done = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            scheduledAt = System.Diagnostics.Stopwatch.GetTimestamp();
            loop.ScheduleTimer(TimeSpan.FromMilliseconds(30), _ =>
            {
                firedAt = System.Diagnostics.Stopwatch.GetTimestamp();
                done.Set();
            }, null);
        });

        Assert.True(done.Wait(Generous));
        Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(scheduledAt, firedAt) >= TimeSpan.FromMilliseconds(30));
        Assert.True(loop.Parks > 0); // the blocking loop waited in the selector with the timer's timeout
    }

    [Fact]
    public void Cancelled_timers_do_not_fire_and_cancel_reports_whether_it_cancelled()
    {
        using var loop = new SidecarLoop();
        var fired = new List<int>();
        using var done = new ManualResetEventSlim();
        var timers = new LoopTimer[10];
        bool[] firstCancel = new bool[10];
        bool[] secondCancel = new bool[10];
        loop.OnLoop(() =>
        {
            for (int i = 0; i < timers.Length; i++)
            {
                timers[i] = loop.ScheduleTimer(TimeSpan.FromMilliseconds(10 + i), state => fired.Add((int)state!), i);
            }

            for (int i = 0; i < timers.Length; i += 2)
            {
                firstCancel[i] = loop.CancelTimer(timers[i]);
                secondCancel[i] = loop.CancelTimer(timers[i]);
            }

            loop.ScheduleTimer(TimeSpan.FromMilliseconds(50), _ => done.Set(), null);
        });

        Assert.True(done.Wait(Generous));
        Assert.Equal([1, 3, 5, 7, 9], loop.OnLoop(() => fired.ToArray()));
        for (int i = 0; i < timers.Length; i += 2)
        {
            Assert.True(firstCancel[i]);
            Assert.False(secondCancel[i]);
        }

        // Cancelling a timer that already fired is a no-op, as is cancelling default.
        Assert.False(loop.OnLoop(() => loop.CancelTimer(timers[1])));
        Assert.False(loop.OnLoop(() => loop.CancelTimer(default)));
        Assert.Equal(0, loop.OnLoop(() => loop.PendingTimers));
    }

    [Fact]
    public void A_stale_handle_does_not_cancel_the_timer_that_reused_its_slot()
    {
        using var loop = new SidecarLoop();
        using var fired = new ManualResetEventSlim();
        bool staleCancelled = true;
        loop.OnLoop(() =>
        {
            LoopTimer first = loop.ScheduleTimer(TimeSpan.FromHours(1), _ => { }, null);
            loop.CancelTimer(first);
            LoopTimer second = loop.ScheduleTimer(TimeSpan.FromMilliseconds(5), _ => fired.Set(), null);
            Assert.Equal(first.Slot, second.Slot);
            staleCancelled = loop.CancelTimer(first);
        });

        Assert.False(staleCancelled);
        Assert.True(fired.Wait(Generous));
    }

    [Fact]
    public void Many_timers_fire_once_each_never_early_and_cancelled_ones_never()
    {
        using var loop = new SidecarLoop();
        const int count = 10_000;
        var random = new Random(1234);
        int[] dues = new int[count];
        long[] scheduledAt = new long[count];
        long[] firedAt = new long[count];
        int[] fireCounts = new int[count];
        using var done = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            var handles = new LoopTimer[count];
            for (int i = 0; i < count; i++)
            {
                dues[i] = random.Next(0, 200);
                scheduledAt[i] = System.Diagnostics.Stopwatch.GetTimestamp();
                handles[i] = loop.ScheduleTimer(TimeSpan.FromMilliseconds(dues[i]), state =>
                {
                    int index = (int)state!;
                    fireCounts[index]++;
                    firedAt[index] = System.Diagnostics.Stopwatch.GetTimestamp();
                }, i);
            }

            for (int i = 0; i < count; i += 2)
            {
                Assert.True(loop.CancelTimer(handles[i]));
            }

            loop.ScheduleTimer(TimeSpan.FromMilliseconds(300), _ => done.Set(), null);
        });

        Assert.True(done.Wait(Generous));
        loop.OnLoop(() =>
        {
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(i % 2, fireCounts[i]);
                if (i % 2 == 1)
                {
                    Assert.True(System.Diagnostics.Stopwatch.GetElapsedTime(scheduledAt[i], firedAt[i]) >= TimeSpan.FromMilliseconds(dues[i]));
                }
            }
        });
        Assert.Equal(0, loop.OnLoop(() => loop.PendingTimers));
    }

    [Fact]
    public void Scheduling_and_cancelling_far_future_timers_does_not_grow_without_bound()
    {
        using var loop = new SidecarLoop();
        using var fired = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            for (int i = 0; i < 100_000; i++)
            {
                loop.CancelTimer(loop.ScheduleTimer(TimeSpan.FromHours(1), _ => { }, null));
            }

            loop.ScheduleTimer(TimeSpan.FromMilliseconds(1), _ => fired.Set(), null);
        });

        Assert.True(fired.Wait(Generous));
        Assert.Equal(0, loop.OnLoop(() => loop.PendingTimers));
    }
}
