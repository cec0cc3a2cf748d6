using FastSidecar.Testing;

namespace FastSidecar.Tests.LoopTests;

/// <summary>A parked loop lends its state to the thread that has work for it: one owner at a time, nothing slept through.</summary>
[Collection(ProcessWideLoopGroup.Name)] // timing-sensitive hand-offs between two threads; keep them off shared cores
public sealed class LoopLendingTests
{
    private static SidecarLoop ParkedBlockingLoop()
    {
        var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking });
        WaitUntilParked(loop);
        return loop;
    }

    private static void WaitUntilParked(SidecarLoop loop) =>
        Assert.True(SpinWait.SpinUntil(() => loop.IsParked, LoopTestSupport.Generous), "the loop never parked");

    [Fact]
    public void A_parked_loop_runs_the_work_on_the_calling_thread_as_its_owner()
    {
        using SidecarLoop loop = ParkedBlockingLoop();
        int ranOn = 0;
        bool ownerThere = false;
        SynchronizationContext? context = null;
        SynchronizationContext? callersContext = SynchronizationContext.Current;
        bool ran = loop.TryRunWhileParked(_ =>
        {
            ranOn = Environment.CurrentManagedThreadId;
            ownerThere = loop.IsOnLoopThread;
            context = SynchronizationContext.Current;
        }, null);

        Assert.True(ran);
        Assert.Equal(Environment.CurrentManagedThreadId, ranOn);
        Assert.True(ownerThere, "the borrowing thread must count as the loop's thread while it holds the state");
        Assert.NotNull(context); // the loop's context: an await inside resumes on the loop
        Assert.NotSame(callersContext, context);
        Assert.False(loop.IsOnLoopThread, "the loan ends with the call");
        Assert.Same(callersContext, SynchronizationContext.Current);
        Assert.Equal(1, loop.LentRuns);
    }

    [Fact]
    public void A_busy_spinning_loop_never_parks_so_it_never_lends()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.BusySpin });
        loop.OnLoop(() => { }); // running
        bool ran = false;
        for (int i = 0; i < 1_000; i++)
        {
            ran |= loop.TryRunWhileParked(_ => { }, null);
        }

        Assert.False(ran);
        Assert.Equal(0, loop.LentRuns);
    }

    [Fact]
    public void The_portable_selector_never_lends_because_its_wait_would_miss_a_change_of_interest()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking, ForcePortableSelector = true });
        WaitUntilParked(loop);
        Assert.False(loop.LendsWhenParked);
        Assert.False(loop.TryRunWhileParked(_ => { }, null));
        Assert.Equal(0, loop.LentRuns);
    }

    [Fact]
    public void A_timer_armed_on_loan_fires_although_the_loop_parked_without_a_timeout()
    {
        using SidecarLoop loop = ParkedBlockingLoop(); // no timers: parked with an infinite timeout
        using var fired = new ManualResetEventSlim();
        Assert.True(loop.TryRunWhileParked(_ => loop.ScheduleTimer(TimeSpan.FromMilliseconds(20), _ => fired.Set(), null), null));
        Assert.True(fired.Wait(LoopTestSupport.Generous), "the parked loop slept through a timer armed while its state was lent");
    }

    [Fact]
    public void Work_posted_on_loan_by_the_borrower_and_by_other_threads_runs()
    {
        using SidecarLoop loop = ParkedBlockingLoop();
        using var fromBorrower = new ManualResetEventSlim();
        using var fromOther = new ManualResetEventSlim();
        Assert.True(loop.TryRunWhileParked(_ =>
        {
            loop.Post(fromBorrower.Set); // the borrower counts as the loop: a loop-local post, no wake-up of its own
            var other = new Thread(() => loop.Post(fromOther.Set)); // sees the word lent, so it does not signal
            other.Start();
            other.Join();
        }, null));

        Assert.True(fromBorrower.Wait(LoopTestSupport.Generous), "work posted by the borrower was never run");
        Assert.True(fromOther.Wait(LoopTestSupport.Generous), "work posted while the state was lent was never run: lost wake-up");
    }

    [Fact]
    public void A_stop_requested_on_loan_still_stops_and_joins_the_loop()
    {
        SidecarLoop loop = ParkedBlockingLoop();
        LoopStopReport? report = null;
        Assert.True(loop.TryRunWhileParked(_ =>
        {
            var stopper = new Thread(() => report = loop.Stop(LoopTestSupport.Generous));
            stopper.Start();
            // The stopper's wake-up is suppressed while the word is lent; wait until it has requested the stop.
            Assert.True(SpinWait.SpinUntil(() => !loop.IsRunning, LoopTestSupport.Generous));
        }, null));

        Assert.True(SpinWait.SpinUntil(() => report is not null, LoopTestSupport.Generous), "Stop never returned");
        Assert.True(report!.Joined, "the loop slept through a stop requested while its state was lent");
        Assert.True(report.TeardownCompleted);
    }

    [Fact]
    public void Borrowers_and_the_loop_thread_never_hold_the_state_at_once()
    {
        // A counter that only the owner may touch, incremented without atomics by posted work (loop thread) and by
        // borrowers (application threads): a single lost update means two owners at once.
        using var loop = new SidecarLoop(new SidecarLoopOptions { WaitStrategy = WaitStrategy.Blocking });
        var counter = new int[1];
        const int Threads = 3;
        const int PerThread = 20_000;
        long borrowed = 0;
        Action<object?> increment = _ =>
        {
            int value = counter[0];
            Thread.SpinWait(20); // widen the window a second owner would need
            counter[0] = value + 1;
        };
        Thread[] threads = Enumerable.Range(0, Threads).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++)
            {
                if (loop.TryRunWhileParked(increment, null))
                {
                    Interlocked.Increment(ref borrowed);
                }
                else
                {
                    loop.Post(() => increment(null));
                }
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        loop.OnLoop(() => { }); // everything posted before this has run
        Assert.Equal(Threads * PerThread, loop.OnLoop(() => counter[0]));
        Assert.Equal(borrowed, loop.LentRuns);
        Assert.True(borrowed > 0, "no run was lent: the test exercised nothing");
    }

    [Fact]
    public void A_blocking_sidecar_writes_a_send_to_a_parked_loop_without_waking_it()
    {
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking);
        using var ws = SidecarWebSocket.Connect(server.Uri, new SidecarOptions { WaitStrategy = WaitStrategy.Blocking });
        const int RoundTrips = 200;
        long lentBefore = ws.Loop.LentRuns;
        long signalsBefore = ws.Loop.WakeSignals;
        byte[] payload = new byte[64];
        for (int i = 0; i < RoundTrips; i++)
        {
            WaitUntilParked(ws.Loop);
            payload[0] = (byte)i;
            ws.Send(payload);
            using ReceivedMessage echo = ws.Receive(LoopTestSupport.Generous);
            Assert.Equal((byte)i, echo.Span[0]);
        }

        long lent = ws.Loop.LentRuns - lentBefore;
        long signals = ws.Loop.WakeSignals - signalsBefore;
        Assert.Equal(RoundTrips, ws.Exit().MessagesSent);
        // Each send found the loop parked: nearly all were written by the sending thread (a send racing the loop's
        // own park announcement may still post), and those made no eventfd write.
        Assert.InRange(lent, RoundTrips * 9 / 10, RoundTrips);
        Assert.True(signals <= RoundTrips - lent, $"{signals} wake-up signals for {RoundTrips - lent} posted sends");
    }
}
