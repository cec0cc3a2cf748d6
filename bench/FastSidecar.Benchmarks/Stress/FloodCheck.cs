using System.Diagnostics;
using System.Globalization;
using System.Text;
using FastSidecar.Server;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (e) A long receive under a flood, in batches requested from the server like the throughput benchmark, watching for
/// a stall: when <c>Receive</c> times out, the state of both queues and of the session is recorded, because a stall
/// with a full receive queue means a consumer that slept through its wake-up.
/// </summary>
internal static class FloodCheck
{
    /// <summary>The client session's receive flags, read through reflection: diagnostics only, after a stall.</summary>
    private static string SessionState(SidecarWebSocket socket)
    {
        object? session = typeof(SidecarWebSocket).GetField("_session", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(socket);
        if (session is null)
        {
            return "unknown";
        }

        string Field(string name) => session.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)?.GetValue(session)?.ToString() ?? "?";
        return $"receivePaused={Field("_receivePaused")} resumePosted={Field("_resumePosted")} hasHeldMessage={Field("_hasHeldMessage")} interest={Field("_interest")} phase={Field("_phase")}";
    }

    public sealed record Result(int MessageSize, long Requested, long Received, double MessagesPerSecond, int Stalls, List<string> StallStates, string Load);

    public static Result Run(LoopbackEchoServer server, int size, long messages)
    {
        const int Batch = 32_768;
        var stallStates = new List<string>();
        using var socket = SidecarWebSocket.Connect(server.FloodUri(size, 0), new SidecarOptions { WaitStrategy = WaitStrategy.SpinThenPark });
        byte[] request = Encoding.ASCII.GetBytes(Batch.ToString(CultureInfo.InvariantCulture));
        long received = 0;
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
                    socket.Receive(TimeSpan.FromSeconds(5)).Dispose();
                    received++;
                }
                catch (TimeoutException)
                {
                    stallStates.Add($"after {received} of {requested}: pending receive {socket.PendingReceiveCount}, pending send {socket.PendingSendCount}, state {socket.State}, client session {SessionState(socket)}");
                    if (stallStates.Count >= 3)
                    {
                        break;
                    }
                }
            }
        }

        double rate = received / Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new Result(size, requested, received, rate, stallStates.Count, stallStates, MachineLoad.Now());
    }
}
