using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

public sealed class SidecarLoopPostInvokeTests
{
    private static readonly TimeSpan Generous = LoopTestSupport.Generous;

    [Fact]
    public void Post_runs_the_action_on_the_loop_thread()
    {
        using var loop = new SidecarLoop();
        using var ran = new ManualResetEventSlim();
        int threadId = 0;
        loop.Post(() =>
        {
            threadId = Environment.CurrentManagedThreadId;
            ran.Set();
        });

        Assert.True(ran.Wait(Generous));
        Assert.Equal(loop.ThreadId, threadId);
        Assert.NotEqual(Environment.CurrentManagedThreadId, threadId);
    }

    [Fact]
    public void Loop_thread_is_named_background_and_not_a_pool_thread()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { Name = "loop under test" });
        (string? name, bool background, bool pool) = loop.OnLoop(() =>
            (Thread.CurrentThread.Name, Thread.CurrentThread.IsBackground, Thread.CurrentThread.IsThreadPoolThread));
        Assert.Equal("loop under test", name);
        Assert.True(background);
        Assert.False(pool);
    }

    [Fact]
    public void Posts_from_one_thread_run_in_order()
    {
        using var loop = new SidecarLoop();
        var seen = new List<int>();
        using var done = new ManualResetEventSlim();
        const int count = 20_000;
        for (int i = 0; i < count; i++)
        {
            int value = i;
            loop.Post(() => seen.Add(value));
        }

        loop.Post(done.Set);
        Assert.True(done.Wait(Generous));
        Assert.Equal(Enumerable.Range(0, count), seen);
    }

    [Fact]
    public void A_tiny_run_queue_overflows_without_losing_or_reordering_any_producers_posts()
    {
        // Capacity 8 forces the spin and the locked overflow; each producer's sequence must stay in order.
        using var loop = new SidecarLoop(new SidecarLoopOptions { RunQueueCapacity = 8, RunQueueBatchSize = 3 });
        const int producers = 4;
        const int perProducer = 20_000;
        var last = new int[producers];
        Array.Fill(last, -1);
        int outOfOrder = 0;
        int total = 0;
        using var start = new Barrier(producers);
        Thread[] threads = Enumerable.Range(0, producers).Select(p => new Thread(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < perProducer; i++)
            {
                int value = i;
                loop.Post(() =>
                {
                    if (last[p] != value - 1)
                    {
                        outOfOrder++;
                    }

                    last[p] = value;
                    total++;
                });
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Generous * 3));
        }

        Assert.Equal(producers * perProducer, loop.OnLoop(() => total));
        Assert.Equal(0, loop.OnLoop(() => outOfOrder));
    }

    [Fact]
    public void Posts_made_on_the_loop_thread_beyond_the_ring_capacity_run_in_order()
    {
        using var loop = new SidecarLoop(new SidecarLoopOptions { RunQueueCapacity = 4 });
        var seen = new List<int>();
        using var done = new ManualResetEventSlim();
        loop.OnLoop(() =>
        {
            for (int i = 0; i < 100; i++)
            {
                int value = i;
                loop.Post(() => seen.Add(value));
            }

            loop.Post(done.Set); // same thread, so it runs after the hundred
        });

        Assert.True(done.Wait(Generous));
        Assert.Equal(Enumerable.Range(0, 100), loop.OnLoop(() => seen.ToArray()));
    }

    [Fact]
    public void Invoke_returns_the_result()
    {
        using var loop = new SidecarLoop();
        Assert.Equal(42, loop.Invoke(() => ValueTask.FromResult(42), Generous));
        int threadId = 0;
        loop.Invoke(
            () =>
            {
                threadId = Environment.CurrentManagedThreadId;
                return ValueTask.CompletedTask;
            },
            Generous);
        Assert.Equal(loop.ThreadId, threadId);
    }

    [Fact]
    public void Invoke_rethrows_a_synchronous_exception_with_its_type_and_stack()
    {
        using var loop = new SidecarLoop();
        var error = Assert.Throws<InvalidDataException>(() => loop.Invoke<int>(() => ThrowingWork("boom"), Generous));
        Assert.Equal("boom", error.Message);
        Assert.Contains(nameof(ThrowingWork), error.StackTrace, StringComparison.Ordinal);
        Assert.Equal(0, loop.CallbackFaults); // Invoke's exceptions go to the caller, not to the fault handler
    }

    [Fact]
    public void Invoke_rethrows_an_exception_thrown_after_an_await()
    {
        using var loop = new SidecarLoop();
        var error = Assert.Throws<InvalidDataException>(() => loop.Invoke(
            async () =>
            {
                await Task.Yield();
                throw new InvalidDataException("late");
            },
            Generous));
        Assert.Equal("late", error.Message);
    }

    [Fact]
    public void Invoke_times_out_while_the_work_keeps_running_on_the_loop()
    {
        using var loop = new SidecarLoop();
        var gate = new TaskCompletionSource<int>();
        int finishedOn = 0;
        Assert.Throws<TimeoutException>(() => loop.Invoke(
            async () =>
            {
                int value = await gate.Task;
                finishedOn = Environment.CurrentManagedThreadId;
                return value;
            },
            TimeSpan.FromMilliseconds(100)));

        gate.SetResult(7);
        // The abandoned work still completes, on the loop thread, and the loop keeps serving.
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref finishedOn) != 0, Generous));
        Assert.Equal(loop.ThreadId, finishedOn);
        Assert.Equal(5, loop.Invoke(() => ValueTask.FromResult(5), Generous));
    }

    [Fact]
    public void Await_inside_Invoke_resumes_on_the_loop_thread()
    {
        using var loop = new SidecarLoop();
        int[] threads = loop.Invoke(
            async () =>
            {
                var ids = new List<int> { Environment.CurrentManagedThreadId };
                await Task.Yield();
                ids.Add(Environment.CurrentManagedThreadId);
                await Task.Delay(5); // completes on a timer thread; the continuation must come back to the loop
                ids.Add(Environment.CurrentManagedThreadId);
                await Task.Run(() => { }); // completes on a pool thread
                ids.Add(Environment.CurrentManagedThreadId);
                return ids.ToArray();
            },
            Generous);

        Assert.All(threads, id => Assert.Equal(loop.ThreadId, id));
    }

    [Fact]
    public void Invoke_on_the_loop_thread_runs_synchronous_work_inline()
    {
        using var loop = new SidecarLoop();
        int result = loop.OnLoop(() => loop.Invoke(() => ValueTask.FromResult(3), Generous));
        Assert.Equal(3, result);
    }

    [Fact]
    public void Invoke_on_the_loop_thread_with_asynchronous_work_throws_instead_of_deadlocking()
    {
        using var loop = new SidecarLoop();
        Exception? error = loop.OnLoop(() =>
        {
            try
            {
                loop.Invoke(async () => await Task.Yield(), Generous);
                return null;
            }
            catch (InvalidOperationException e)
            {
                return e;
            }
        });

        Assert.IsType<InvalidOperationException>(error);
    }

    [Fact]
    public void A_throwing_post_is_reported_and_the_loop_keeps_running()
    {
        var faults = new List<Exception>();
        using var loop = new SidecarLoop(new SidecarLoopOptions { CallbackExceptionHandler = faults.Add });
        loop.Post(() => throw new InvalidDataException("bad callback"));
        Assert.Equal(1, loop.Invoke(() => ValueTask.FromResult(1), Generous));
        Assert.Equal(1, loop.CallbackFaults);
        Assert.IsType<InvalidDataException>(Assert.Single(loop.OnLoop(() => faults.ToArray())));
    }

    [Fact]
    public void Post_and_Invoke_after_Stop_throw_ObjectDisposedException()
    {
        var loop = new SidecarLoop();
        loop.Stop(Generous);
        Assert.Throws<ObjectDisposedException>(() => loop.Post(() => { }));
        Assert.Throws<ObjectDisposedException>(() => loop.Invoke(() => ValueTask.FromResult(1), Generous));
        Assert.Throws<ObjectDisposedException>(() => loop.Invoke(() => ValueTask.CompletedTask, Generous));
        Assert.False(loop.IsRunning);
    }

    [Fact]
    public void An_Invoke_pending_when_the_loop_stops_is_released_at_once()
    {
        var loop = new SidecarLoop();
        var never = new TaskCompletionSource();
        using var started = new ManualResetEventSlim();
        Exception? caught = null;
        var caller = new Thread(() =>
        {
            try
            {
                loop.Invoke(
                    async () =>
                    {
                        started.Set();
                        await never.Task;
                    },
                    TimeSpan.FromMinutes(5));
            }
            catch (Exception e)
            {
                caught = e;
            }
        });
        caller.Start();
        Assert.True(started.Wait(Generous));

        LoopStopReport report = loop.Stop(Generous);

        Assert.True(caller.Join(Generous)); // long before the 5-minute timeout
        Assert.IsType<ObjectDisposedException>(caught);
        Assert.Equal(1, report.AbortedResources);
    }

    [Fact]
    public void The_synchronization_context_Send_from_another_thread_runs_on_the_loop()
    {
        using var loop = new SidecarLoop();
        SynchronizationContext context = loop.OnLoop(() => SynchronizationContext.Current!);
        int threadId = 0;
        context.Send(_ => threadId = Environment.CurrentManagedThreadId, null);
        Assert.Equal(loop.ThreadId, threadId);
    }

    private static ValueTask<int> ThrowingWork(string message) => throw new InvalidDataException(message);
}
