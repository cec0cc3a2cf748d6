using System.Diagnostics;
using System.Net.Sockets;
using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;
using FastSidecar.Tests.Hostile;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Reliability;

/// <summary>
/// What a server can make the client buffer. These measure the process, so they run alone (the hostile-server
/// collection is not parallelised).
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class HostilePeerMemoryTests
{
    private const long MemoryBound = 64L << 20;

    [Theory]
    [InlineData(125)]
    [InlineData(0)]
    public void A_ping_flood_from_a_peer_that_never_reads_costs_bounded_memory_and_leaves_the_connection_usable(int pingPayload)
    {
        // Issue: a pong per ping went into an output pipe with no limit while nothing drained it (3.2 GiB in 16 s).
        // RFC 6455 §5.5.3 lets the client answer only the most recent ping.
        var flooding = new ManualResetEventSlim(true);
        long pingsSent = 0;
        int floodEnded = 0;
        Exception? floodError = null;
        byte[] ping = ServerFrames.Ping(new byte[pingPayload]);
        byte[] burst = [.. Enumerable.Range(0, 512).SelectMany(_ => ping)];
        Socket? peerSocket = null;
        using var peer = new NonReadingPeer(socket =>
        {
            peerSocket = socket;
            // Blocking sends: a frame is never cut short, and the flood goes exactly as fast as the client reads.
            try
            {
                while (flooding.IsSet)
                {
                    socket.Send(burst);
                    Interlocked.Add(ref pingsSent, 512);
                }
            }
            catch (Exception e)
            {
                floodError = e;
                throw;
            }

            socket.Send(ServerFrames.Text("still here"));
            Volatile.Write(ref floodEnded, 1);
        });

        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(peer.Uri, new SidecarOptions { BufferPool = pool, KeepAliveInterval = Timeout.InfiniteTimeSpan });
        long before = SettledMemory();
        long peakOutstanding = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(250);
            peakOutstanding = Math.Max(peakOutstanding, pool.Outstanding);
            Assert.Equal(SidecarWebSocketState.Open, ws.State);
        }

        long grown = SettledMemory() - before;
        flooding.Reset();

        // The peer now reads (and discards) what we sent: a peer whose receive window stayed shut also drops the
        // acknowledgements riding on our pongs, which stalls its own sending; that is the peer's trouble, not ours.
        var drain = new Thread(() =>
        {
            byte[] sink = new byte[64 * 1024];
            try
            {
                while (peerSocket!.Receive(sink) > 0)
                {
                }
            }
            catch (SocketException)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }) { IsBackground = true };
        drain.Start();

        Assert.True(pingsSent > 10_000, $"the flood was too weak to prove anything: {pingsSent} pings");
        Assert.True(grown < MemoryBound, $"the process grew by {grown >> 20} MiB during a 10 s ping flood ({pingsSent} pings)");
        // The pipes' segments are all the connection holds, not one per pong: at most one read budget of input
        // (256 KiB in 16 KiB segments) and a segment or two of output.
        Assert.True(peakOutstanding <= 20, $"{peakOutstanding} pooled buffers were out at once during the flood");

        bool ended = SpinWait.SpinUntil(() => Volatile.Read(ref floodEnded) == 1, HostileServerSupport.Generous);
        Assert.True(ended, $"the peer's last send never completed: the client stopped reading ({ws.State}, {pool.Outstanding} out, {pingsSent} pings, loop faults {ws.Loop.CallbackFaults}, parked {ws.Loop.IsParked}, {floodError})");
        using (ReceivedMessage message = ws.Receive(HostileServerSupport.Generous))
        {
            Assert.Equal("still here", message.GetText());
        }

        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    /// <summary>The process's resident memory after a full collection: what the ping flood made the process keep.</summary>
    private static long SettledMemory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
