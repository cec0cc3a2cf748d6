using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using FastSidecar.Benchmarks.Contenders;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (f) The seed's use: an application thread that does ≈ 20 µs of CPU work, sends 64 B and takes whatever came back
/// without waiting, N times; then waits for the last echoes. Wall time against the same work with no networking,
/// per wait strategy and for <c>ClientWebSocket</c> (a receive loop on the thread pool, sends blocked on), against every
/// peer. Rounds rotate through the contenders so the machine's noise lands on all of them.
/// </summary>
/// <remarks>
/// The raw socket on the working thread is the design a sidecar replaces: no thread of the client's but the working
/// one, a non-blocking socket written and drained by it (one <c>send</c> and one <c>recv</c> per message), one
/// precomputed masked frame, no protocol work at all. On loopback a <c>send</c> also runs the receiving side's TCP
/// processing and wakes the peer, so what this row loses against pure work is the cost of doing one's own I/O.
/// </remarks>
internal static class SeedUseStress
{
    public const string PureWork = "pure CPU work";
    public const string ClientWebSocketName = "ClientWebSocket (receive task)";
    public const string RawOnWorkingThreadName = "raw socket on the working thread";
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    /// <summary>Wall times in milliseconds, summed over the rounds, per peer and contender.</summary>
    public sealed record Result(int Messages, int Rounds, double WorkMicroseconds, Dictionary<string, Dictionary<string, double>> WallMilliseconds, string Load);

    public static Result Run(StressSettings settings, IReadOnlyList<(string Name, Uri Uri)> peers)
    {
        long workIterations = Calibrate(TimeSpan.FromMicroseconds(20));
        string[] contenders = [PureWork, RawOnWorkingThreadName, .. Enum.GetNames<WaitStrategy>().Select(s => "Sidecar " + s), ClientWebSocketName];
        var wall = peers.ToDictionary(p => p.Name, _ => contenders.ToDictionary(c => c, _ => 0.0));
        byte[] payload = new byte[64];
        int perRound = Math.Max(1, settings.SeedMessages / settings.SeedRounds);
        for (int round = 0; round < settings.SeedRounds; round++)
        {
            foreach ((string peer, Uri uri) in peers)
            {
                for (int i = 0; i < contenders.Length; i++)
                {
                    string name = contenders[(round + i) % contenders.Length];
                    wall[peer][name] += RunOne(name, uri, payload, perRound, workIterations).TotalMilliseconds;
                }
            }

            Console.WriteLine($"  seed's use: round {round + 1}/{settings.SeedRounds} done (load {MachineLoad.Now()})");
        }

        return new Result(perRound * settings.SeedRounds, settings.SeedRounds, Enumerable.Range(0, 20).Min(_ => MeasureWork(workIterations).TotalMicroseconds), wall, MachineLoad.Now());
    }

    private static TimeSpan RunOne(string name, Uri uri, byte[] payload, int count, long workIterations)
    {
        if (name == PureWork)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                Work(workIterations);
            }

            return Stopwatch.GetElapsedTime(start);
        }

        if (name == ClientWebSocketName)
        {
            return RunClientWebSocket(uri, payload, count, workIterations);
        }

        if (name == RawOnWorkingThreadName)
        {
            return RunRawSocket(uri, payload, count, workIterations);
        }

        var strategy = Enum.Parse<WaitStrategy>(name["Sidecar ".Length..]);
        using var socket = SidecarWebSocket.Connect(uri, new SidecarOptions { WaitStrategy = strategy, CloseTimeout = TimeSpan.FromSeconds(1) });
        int received = 0;
        long begin = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            Work(workIterations);
            socket.Send(payload, MessageType.Binary);
            while (socket.TryReceive(out ReceivedMessage message))
            {
                message.Dispose();
                received++;
            }
        }

        while (received < count)
        {
            socket.Receive(s_deadline).Dispose();
            received++;
        }

        return Stopwatch.GetElapsedTime(begin);
    }

    private static TimeSpan RunClientWebSocket(Uri uri, byte[] payload, int count, long workIterations)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        socket.ConnectAsync(uri, CancellationToken.None).GetAwaiter().GetResult();
        long begin = Stopwatch.GetTimestamp();
        Task receiving = Task.Run(async () =>
        {
            byte[] buffer = new byte[1024];
            for (int received = 0; received < count;)
            {
                ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.EndOfMessage)
                {
                    received++;
                }
            }
        });
        for (int i = 0; i < count; i++)
        {
            Work(workIterations);
            socket.SendAsync(payload.AsMemory(), WebSocketMessageType.Binary, true, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        if (!receiving.Wait(s_deadline))
        {
            throw new TimeoutException("ClientWebSocket echoes did not all come back.");
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(begin);
        socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).Wait(TimeSpan.FromSeconds(1));
        return elapsed;
    }

    private static TimeSpan RunRawSocket(Uri uri, byte[] payload, int count, long workIterations)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, uri.Port));
            RawSocketContender.Handshake(socket, uri);
            var writer = new ArrayBufferWriter<byte>(payload.Length + FrameHeader.MaxLength);
            FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, payload, mask: true, new MaskKeySource().NextKey());
            byte[] frame = writer.WrittenSpan.ToArray();
            long expected = (long)count * (payload.Length + 2); // every echo is a 2-byte header and the 64 B payload
            long received = 0;
            byte[] buffer = new byte[64 * 1024];
            socket.Blocking = false;
            long begin = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                Work(workIterations);
                for (int sent = 0; sent < frame.Length;)
                {
                    int n = socket.Send(frame, sent, frame.Length - sent, SocketFlags.None, out SocketError error);
                    sent += error == SocketError.Success ? n : error == SocketError.WouldBlock ? 0 : throw new SocketException((int)error);
                }

                received += Drain(socket, buffer);
            }

            socket.Blocking = true;
            socket.ReceiveTimeout = (int)s_deadline.TotalMilliseconds;
            while (received < expected)
            {
                int n = socket.Receive(buffer);
                received += n > 0 ? n : throw new SocketException((int)SocketError.ConnectionReset);
            }

            return Stopwatch.GetElapsedTime(begin);
        }
        finally
        {
            socket.Blocking = true;
            RawSocketContender.SayGoodbye(socket);
        }
    }

    /// <summary>Reads whatever the kernel holds now without waiting; the byte count is all a floor needs.</summary>
    private static long Drain(Socket socket, byte[] buffer)
    {
        long total = 0;
        while (true)
        {
            int n = socket.Receive(buffer, 0, buffer.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return total;
            }

            total += error == SocketError.Success && n > 0 ? n : throw new SocketException((int)(n == 0 ? SocketError.ConnectionReset : error));
        }
    }

    /// <summary>Fixed CPU work: a dependent chain of multiplications the JIT cannot remove or vectorise.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ulong Work(long iterations)
    {
        ulong x = 0x9E3779B97F4A7C15;
        for (long i = 0; i < iterations; i++)
        {
            x = (x ^ (x >> 29)) * 0xBF58476D1CE4E5B9;
        }

        return x;
    }

    private static long Calibrate(TimeSpan target)
    {
        long iterations = 1_000;
        MeasureWork(iterations);
        // Best of several runs: the least-disturbed measurement says what the work costs on an uncontended core.
        double perIteration = Enumerable.Range(0, 20).Min(_ => MeasureWork(100_000).TotalMicroseconds) / 100_000;
        return Math.Max(1, (long)(target.TotalMicroseconds / perIteration));
    }

    private static TimeSpan MeasureWork(long iterations)
    {
        long start = Stopwatch.GetTimestamp();
        Work(iterations);
        return Stopwatch.GetElapsedTime(start);
    }
}
