using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reliability;

/// <summary>A shared loop that stops under a connection: no foreign exception, no lost message, no hang.</summary>
public sealed class SharedLoopStopTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_shared_loop_stopped_under_load_surfaces_only_typed_errors_and_loses_no_received_message()
    {
        // Issue: Send, TrySend and Receive threw ObjectDisposedException (posting to a stopped loop), Receive after it
        // had taken the message: 24 of 100 messages lost with their buffers.
        for (int round = 0; round < 20; round++)
        {
            var pool = new SidecarBufferPool();
            var loop = new SidecarLoop(new SidecarLoopOptions { Name = "shared " + round });
            var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions
            {
                Loop = loop,
                BufferPool = pool,
                ReceiveQueueCapacity = 16, // reading pauses and resumes all the time: Receive posts to the loop
            });
            var unexpected = new List<Exception>();
            long taken = 0;
            using var stop = new CountdownEvent(1);
            var sender = new Thread(() => Catch(unexpected, () =>
            {
                byte[] payload = new byte[32];
                for (int i = 0; i < 100_000; i++)
                {
                    if (i == 2_000)
                    {
                        stop.Signal();
                    }

                    if (!ws.TrySend(payload))
                    {
                        Thread.Yield();
                    }
                }
            }));
            var receiver = new Thread(() => Catch(unexpected, () =>
            {
                while (true)
                {
                    ws.Receive(Wait).Dispose();
                    Interlocked.Increment(ref taken);
                }
            }));
            sender.Start();
            receiver.Start();
            stop.Wait(Wait);
            loop.Stop(Wait);
            Assert.True(sender.Join(Wait) && receiver.Join(Wait), "an application thread hung after the loop stopped");
            ShutdownReport report = ws.Exit();

            lock (unexpected)
            {
                Assert.True(unexpected.Count == 0, string.Join("\n", unexpected));
            }

            Assert.Equal(report.MessagesReceived, Interlocked.Read(ref taken) + report.MessagesNotConsumed);
            Assert.Equal(0, pool.Outstanding);
        }
    }

    [Fact]
    public void A_shared_loop_stopped_before_the_connection_started_releases_WaitUntilOpen_at_once_and_Exit_reports()
    {
        // Issue: the dropped start signalled nothing: WaitUntilOpen waited the whole connect timeout (for ever with an
        // infinite one), Exit threw ObjectDisposedException, and every later Exit returned null.
        var pool = new SidecarBufferPool();
        var loop = new SidecarLoop(new SidecarLoopOptions { Name = "stopped before start" });
        using var gate = new ManualResetEventSlim(false);
        loop.Post(() => gate.Wait());
        var ws = SidecarWebSocket.Start(fixture.Server.Uri, new SidecarOptions { Loop = loop, BufferPool = pool, ConnectTimeout = Timeout.InfiniteTimeSpan });
        var stopper = new Thread(() => loop.Stop(Wait));
        stopper.Start();
        Assert.True(SpinWait.SpinUntil(() => !loop.IsRunning, Wait));
        gate.Set();

        var clock = Stopwatch.StartNew();
        var error = Assert.ThrowsAny<SidecarWebSocketException>(ws.WaitUntilOpen);
        Assert.True(clock.Elapsed < Wait, $"WaitUntilOpen took {clock.Elapsed}");
        Assert.Contains("loop stopped", error.Message, StringComparison.Ordinal);

        ShutdownReport report = ws.Exit();
        Assert.Same(report, ws.Exit());
        ws.Dispose();
        Assert.True(stopper.Join(Wait));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Starting_on_a_stopped_shared_loop_fails_at_once_with_a_typed_error()
    {
        var loop = new SidecarLoop(new SidecarLoopOptions { Name = "already stopped" });
        loop.Stop(Wait);
        var pool = new SidecarBufferPool();
        Assert.Throws<ObjectDisposedException>(() => SidecarWebSocket.Start(fixture.Server.Uri, new SidecarOptions { Loop = loop, BufferPool = pool }));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_on_a_wedged_shared_loop_leaves_the_queues_to_it_and_every_buffer_comes_back_once_it_runs()
    {
        // Issue: after an abort that timed out, Exit drained the send ring while the loop could still dequeue: two
        // consumers on a single-consumer ring (lost counts, double returns, an ArgumentNullException).
        var pool = new SidecarBufferPool();
        var loop = new SidecarLoop(new SidecarLoopOptions { Name = "wedged" });
        using var gate = new ManualResetEventSlim(false);
        try
        {
            var ws = SidecarWebSocket.Connect(fixture.Server.UriFor(FastSidecar.Testing.EchoServerFault.Silent), new SidecarOptions
            {
                Loop = loop,
                BufferPool = pool,
                CloseTimeout = TimeSpan.FromMilliseconds(100),
                JoinTimeout = TimeSpan.FromMilliseconds(100),
            });
            using var wedged = new ManualResetEventSlim(false);
            loop.Post(() =>
            {
                wedged.Set();
                gate.Wait();
            });
            // Sent only once the loop is inside the wedge: a loop that has not reached it yet may write them all out
            // first, and then nothing is left for Exit to leave alone (seen once in a clean run: no buffer out).
            Assert.True(wedged.Wait(Wait));
            for (int i = 0; i < 1_000; i++)
            {
                Assert.True(ws.TrySend(new byte[128]));
            }

            ShutdownReport report = ws.Exit();
            Assert.Equal(ShutdownOutcome.TimedOut, report.Steps[2].Outcome);
            Assert.Contains("uncounted", report.Steps[2].Detail, StringComparison.Ordinal);
            Assert.True(pool.Outstanding > 0, "Exit returned buffers the wedged loop still owned");

            gate.Set();
            Assert.True(SpinWait.SpinUntil(() => pool.Outstanding == 0, Wait), $"{pool.Outstanding} buffers still out");
            Assert.Equal(0, pool.Outstanding);
        }
        finally
        {
            gate.Set(); // a failed assertion must not leave the loop, and its connection, wedged for the tests after it
            loop.Stop(Wait);
        }
    }

    private static void Catch(List<Exception> unexpected, Action run)
    {
        try
        {
            run();
        }
        catch (SidecarWebSocketException)
        {
            // The typed end of the connection: what every call may throw once the loop stopped.
        }
        catch (Exception e)
        {
            lock (unexpected)
            {
                unexpected.Add(e);
            }
        }
    }
}
