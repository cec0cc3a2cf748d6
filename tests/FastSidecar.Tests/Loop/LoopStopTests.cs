using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

[Collection(ProcessWideLoopGroup.Name)]
public sealed class LoopStopTests
{
    private static readonly TimeSpan Generous = LoopTestSupport.Generous;

    [Fact]
    public void Stop_from_another_thread_joins_the_loop_thread()
    {
        var loop = new SidecarLoop();
        Assert.Equal(1, loop.Invoke(() => ValueTask.FromResult(1), Generous));

        LoopStopReport report = loop.Stop(Generous);

        Assert.True(report.Joined);
        Assert.True(report.TeardownCompleted);
        Assert.False(report.RequestedOnLoopThread);
        Assert.True(report.Duration >= TimeSpan.Zero && report.Duration < Generous);
        Assert.False(loop.IsRunning);
        Assert.False(loop.IsThreadAlive);
    }

    [Fact]
    public void Stop_before_any_work_is_clean()
    {
        var loop = new SidecarLoop();
        LoopStopReport report = loop.Stop(Generous);
        Assert.True(report.Joined);
        Assert.Equal(0, report.CancelledWorkItems);
        Assert.False(loop.IsThreadAlive);
    }

    [Fact]
    public void Stop_twice_returns_the_same_outcome()
    {
        var loop = new SidecarLoop();
        LoopStopReport first = loop.Stop(Generous);
        LoopStopReport second = loop.Stop(Generous);
        loop.Dispose();
        Assert.True(first.Joined);
        Assert.True(second.Joined);
        Assert.Equal(first.Duration, second.Duration);
    }

    [Fact]
    public void Stop_from_inside_a_posted_action_does_not_deadlock_and_later_work_is_counted_not_run()
    {
        var loop = new SidecarLoop();
        LoopStopReport? inner = null;
        bool laterRan = false;
        using var stopped = new ManualResetEventSlim();
        loop.Post(() =>
        {
            // Both go to the run queue behind this callback, in this order.
            loop.Post(() =>
            {
                inner = loop.Stop(Generous);
                stopped.Set();
            });
            loop.Post(() => laterRan = true);
        });

        Assert.True(stopped.Wait(Generous));
        LoopStopReport outer = loop.Stop(Generous);

        Assert.NotNull(inner);
        Assert.True(inner.RequestedOnLoopThread);
        Assert.False(inner.Joined);
        Assert.True(outer.Joined);
        Assert.True(outer.TeardownCompleted);
        Assert.False(laterRan);
        Assert.Equal(1, outer.CancelledWorkItems);
        Assert.False(loop.IsThreadAlive);
    }

    [Fact]
    public void Stop_from_four_threads_at_once_joins_in_every_caller()
    {
        var loop = new SidecarLoop();
        var reports = new LoopStopReport?[4];
        using var start = new Barrier(4);
        Thread[] threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            reports[i] = loop.Stop(Generous);
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Generous * 2));
        }

        Assert.All(reports, r => Assert.True(r!.Joined));
        Assert.Single(reports.Select(r => r!.Duration).Distinct());
    }

    [Fact]
    public void Stop_aborts_owned_resources_and_cancels_timers_on_the_loop_thread()
    {
        var loop = new SidecarLoop();
        var resources = Enumerable.Range(0, 3).Select(_ => new RecordingResource()).ToArray();
        var disowned = new RecordingResource();
        bool timerFired = false;
        loop.OnLoop(() =>
        {
            foreach (RecordingResource resource in resources)
            {
                loop.Own(resource);
            }

            loop.Own(disowned);
            loop.Disown(disowned);
            for (int i = 0; i < 5; i++)
            {
                loop.ScheduleTimer(TimeSpan.FromHours(1), _ => timerFired = true, null);
            }
        });

        LoopStopReport report = loop.Stop(Generous);

        Assert.True(report.Joined);
        Assert.Equal(3, report.AbortedResources);
        Assert.Equal(5, report.CancelledTimers);
        Assert.All(resources, r => Assert.Equal(1, r.Aborts));
        Assert.All(resources, r => Assert.Equal(loop.ThreadId, r.AbortThreadId));
        Assert.Equal(0, disowned.Aborts);
        Assert.False(timerFired);
    }

    [Fact]
    public void Stop_removes_registrations_left_behind_but_leaves_their_sockets_open()
    {
        var loop = new SidecarLoop();
        (System.Net.Sockets.Socket left, System.Net.Sockets.Socket right) = LoopTestSupport.CreateSocketPair();
        using (left)
        using (right)
        {
            var handler = new RecordingHandler(left, 1) { LoopThreadId = loop.ThreadId };
            SocketRegistration registration = loop.OnLoop(() => loop.Register(left, handler, SocketInterest.Read));

            LoopStopReport report = loop.Stop(Generous);

            Assert.Equal(1, report.RemovedRegistrations);
            Assert.True(registration.IsDisposed);
            right.Blocking = true;
            Assert.Equal(1, right.Send(new byte[1])); // the loop did not close the socket
            left.Blocking = true;
            Assert.Equal(1, left.Receive(new byte[1]));
        }
    }

    [Fact]
    public void Two_hundred_create_stop_cycles_leave_no_thread_loop_or_descriptor_behind()
    {
        // Warm up once per selector so lazily loaded libraries and sockets initialisation are not counted.
        new SidecarLoop().Stop(Generous);
        new SidecarLoop(new SidecarLoopOptions { ForcePortableSelector = true }).Stop(Generous);
        int liveBefore = SidecarLoop.LiveLoops;
        int descriptorsBefore = LoopTestSupport.OpenDescriptors();
        (int Epoll, int EventFd, int Sockets) kindsBefore = LoopTestSupport.LoopKindDescriptors();

        WaitStrategy[] strategies = [WaitStrategy.Blocking, WaitStrategy.SpinThenPark, WaitStrategy.BusySpin];
        for (int i = 0; i < 200; i++)
        {
            var loop = new SidecarLoop(new SidecarLoopOptions
            {
                WaitStrategy = strategies[i % 3],
                ForcePortableSelector = i % 10 == 9,
            });
            Assert.Equal(liveBefore + 1, SidecarLoop.LiveLoops);
            if (i == 0 && OperatingSystem.IsLinux())
            {
                // The descriptor census sees a live loop's epoll instance and eventfd, so it can see a leaked one.
                (int Epoll, int EventFd, int _) live = LoopTestSupport.LoopKindDescriptors();
                Assert.Equal(kindsBefore.Epoll + 1, live.Epoll);
                Assert.Equal(kindsBefore.EventFd + 1, live.EventFd);
            }

            Assert.Equal(i, loop.Invoke(() => ValueTask.FromResult(i), Generous));
            LoopStopReport report = loop.Stop(Generous);
            Assert.True(report.Joined);
            Assert.False(loop.IsThreadAlive);
            Assert.Equal(liveBefore, SidecarLoop.LiveLoops);
        }

        // Exactly: no epoll instance, eventfd or socket of the 200 loops is left open.
        Assert.Equal(kindsBefore, LoopTestSupport.LoopKindDescriptors());
        // In total, a leak of one descriptor per cycle would show as 200; the runtime and the test host may open a
        // few of their own meanwhile (the host's pipes, the runtime's socket engine), so allow a handful.
        int descriptorsAfter = LoopTestSupport.OpenDescriptors();
        Assert.InRange(descriptorsAfter, descriptorsBefore - 8, descriptorsBefore + 8);
    }
}
