using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastSidecar.Testing;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (e) A long receive under a flood, in batches requested from the server like the throughput benchmark, watching for
/// a stall: when <c>Receive</c> times out, the state of both queues and of the session is recorded, because a stall
/// with a full receive queue means a consumer that slept through its wake-up.
/// </summary>
internal static class FloodCheck
{
    /// <summary>The kernel's view of both ends of the connection (Linux <c>ss</c>), when it is installed.</summary>
    private static string TcpInfo(int clientPort)
    {
        try
        {
            using var ss = Process.Start(new ProcessStartInfo("ss", $"-tniH ( sport = :{clientPort} or dport = :{clientPort} )") { RedirectStandardOutput = true })!;
            string text = ss.StandardOutput.ReadToEnd();
            ss.WaitForExit(2000);
            return string.Join(" / ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "ss not available";
        }
    }

    private static string ReadField(object target, string name) =>
        target.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(target)?.ToString() ?? "?";

    /// <summary>The flood sessions' sending state, read on the server's loop.</summary>
    private static string ServerState(LoopbackEchoServer server) => server.Loop.Invoke(() =>
    {
        var text = new StringBuilder();
        foreach (object session in server.FloodSessions)
        {
            object? transport = session.GetType().GetField("_transport", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(session);
            object? outbound = transport?.GetType().GetField("_outbound", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(transport);
            text.Append($"[phase={ReadField(session, "_phase")} interest={ReadField(session, "_interest")} drainScheduled={ReadField(session, "_drainScheduled")} buffered={ReadField(session, "_messagesBuffered")} sent={ReadField(session, "_messagesSent")} output pipe unconsumed={(outbound is null ? "?" : ReadField(outbound, "_unconsumedBytes"))}]");
        }

        return ValueTask.FromResult(text.ToString());
    }, TimeSpan.FromSeconds(5));

    /// <summary>The client session's receive flags, read through reflection: diagnostics only, after a stall.</summary>
    private static string SessionState(SidecarWebSocket socket)
    {
        object? session = typeof(SidecarWebSocket).GetField("_session", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(socket);
        if (session is null)
        {
            return "unknown";
        }

        string Field(string name) => session.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(session)?.ToString() ?? "?";
        object? transport = session.GetType().GetField("_transport", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(session);
        object? inbound = transport?.GetType().GetField("_inbound", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(transport);
        string piped = inbound is null ? "?" : ReadField(inbound, "_unconsumedBytes") + " unflushed=" + ReadField(inbound, "_unflushedBytes");
        var kernelSocket = transport?.GetType().GetProperty("Socket")?.GetValue(transport) as System.Net.Sockets.Socket;
        piped += $" kernel receive queue={kernelSocket?.Available.ToString(CultureInfo.InvariantCulture) ?? "?"}";
        if (kernelSocket?.LocalEndPoint is System.Net.IPEndPoint local)
        {
            piped += $" ss: [{TcpInfo(local.Port)}]";
        }
        object? reader = session.GetType().GetField("_reader", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(session);
        string frame = reader is null ? "?" : $"reader inFrame={ReadField(reader, "_inFrame")} frameRemaining={ReadField(reader, "_frameRemaining")} inMessage={ReadField(reader, "_inMessage")} messageLength={ReadField(reader, "_messageLength")}";
        return $"{frame} input pipe unconsumed bytes={piped} receivePaused={Field("_receivePaused")} resumePosted={Field("_resumePosted")} hasHeldMessage={Field("_hasHeldMessage")} interest={Field("_interest")} phase={Field("_phase")}";
    }

    public sealed record Result(bool OwnPool, int MessageSize, long Requested, long Received, double MessagesPerSecond, int Stalls, List<string> StallStates, string Load);

    public static Result Run(LoopbackEchoServer server, int size, long messages, bool ownPool = false)
    {
        const int Batch = 32_768;
        var stallStates = new List<string>();
        Exception? firstFault = null;
        using var loop = new SidecarLoop(new SidecarLoopOptions
        {
            Name = "FastSidecar flood check",
            WaitStrategy = WaitStrategy.SpinThenPark,
            CallbackExceptionHandler = e => Interlocked.CompareExchange(ref firstFault, e, null),
        });
        using var socket = SidecarWebSocket.Connect(server.FloodUri(size, 0), new SidecarOptions
        {
            WaitStrategy = WaitStrategy.SpinThenPark,
            Loop = loop,
            BufferPool = ownPool ? new SidecarBufferPool() : SidecarBufferPool.Shared,
        });
        byte[] request = Encoding.ASCII.GetBytes(Batch.ToString(CultureInfo.InvariantCulture));
        long generatedBefore = server.FloodMessagesGenerated;
        long received = 0;
        long skipped = 0;
        var gaps = new List<string>();
        long requested = 0;
        long start = Stopwatch.GetTimestamp();
        while (requested < messages && stallStates.Count < 3)
        {
            socket.Send(request, MessageType.Text);
            requested += Batch;
            while (received < requested)
            {
                try
                {
                    using (ReceivedMessage message = socket.Receive(TimeSpan.FromSeconds(5)))
                    {
                        long sequence = System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(message.Span);
                        if (sequence != received + skipped && gaps.Count < 5)
                        {
                            gaps.Add($"message {received}: sequence {sequence}, expected {received + skipped}");
                        }

                        skipped = sequence - received;
                    }

                    received++;
                }
                catch (TimeoutException)
                {
                    stallStates.Add($"after {received} of {requested}: pending receive {socket.PendingReceiveCount}, pending send {socket.PendingSendCount}, state {socket.State}, client loop callback faults {loop.CallbackFaults} (first: {Volatile.Read(ref firstFault)?.GetType().Name}: {Volatile.Read(ref firstFault)?.Message} at {Volatile.Read(ref firstFault)?.StackTrace?.Split('\n').FirstOrDefault()?.Trim()}), client session {SessionState(socket)}, server generated {server.FloodMessagesGenerated - generatedBefore}, client delivered {ReadField(socket, "_messagesReceived")}, server {ServerState(server)}");
                    if (stallStates.Count >= 3)
                    {
                        break;
                    }
                }
            }
        }

        double rate = received / Stopwatch.GetElapsedTime(start).TotalSeconds;
        stallStates.InsertRange(0, gaps.Select(g => "sequence gap at " + g));
        return new Result(ownPool, size, requested, received, rate, stallStates.Count - gaps.Count, stallStates, MachineLoad.Now());
    }
}
