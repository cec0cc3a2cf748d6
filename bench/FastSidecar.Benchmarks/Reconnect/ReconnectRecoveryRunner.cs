using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using FastSidecar.Benchmarks.Peers;
using FastSidecar.Testing;

namespace FastSidecar.Benchmarks.Reconnect;

/// <summary>
/// Recovery after a peer restart: the time from the moment a restarted peer listens again (on its old port) to the
/// first message the client receives on its new connection (the echo of its resubscription), over many restarts of
/// three peers: the library's own loop server, the plain blocking server in this process, and Node <c>ws</c> in another
/// process (SIGKILLed and started again). Two clients ride every restart together: <see cref="SidecarWebSocket"/> with
/// <see cref="ReconnectPolicy"/>, and <see cref="ClientWebSocket"/> with the reconnect loop an application writes
/// around it (catch, back off with the same full jitter, connect, resubscribe), so both see the same restart.
/// </summary>
/// <remarks>
/// Usage: <c>reconnect [--restarts N] [--down-ms D] [--initial-ms I] [--max-ms M] [--peers own,blocking,node]</c>.
/// The peer stays down for D ms (the clients' attempts are refused meanwhile), so the figure is the backoff's
/// residual wait plus connect, handshake, resubscription and the echo.
/// </remarks>
internal static class ReconnectRecoveryRunner
{
    public static int Run(ReadOnlySpan<string> args)
    {
        int restarts = 100, downMs = 30;
        double initialMs = 5, maxMs = 20;
        string peers = "own,blocking,node";
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--restarts": restarts = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--down-ms": downMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--initial-ms": initialMs = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--max-ms": maxMs = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--peers": peers = args[i + 1]; break;
                default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
            }
        }

        var policy = new ReconnectPolicy { InitialDelay = TimeSpan.FromMilliseconds(initialMs), MaxDelay = TimeSpan.FromMilliseconds(maxMs) };
        Console.WriteLine($"# restart -> first message on the new connection; {restarts} restarts per peer, down {downMs} ms, " +
            $"full-jitter backoff {initialMs}..{maxMs} ms for both clients; load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine("| peer | client | p50 ms | p99 ms | max ms | n |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (string peer in peers.Split(','))
        {
            Measure(peer, restarts, downMs, policy);
        }

        Console.WriteLine($"# load after: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static void Measure(string kind, int restarts, int downMs, ReconnectPolicy policy)
    {
        IRestartablePeer peer = kind switch
        {
            "own" => new OwnPeer(),
            "blocking" => new BlockingPeer(),
            "node" => new NodePeer(),
            _ => throw new ArgumentException("unknown peer " + kind),
        };
        using var sidecar = new SidecarClient(peer.Uri, policy);
        using var bcl = new ClientWebSocketClient(peer.Uri, policy);
        sidecar.WaitSubscribed();
        bcl.WaitSubscribed();
        var sidecarSamples = new List<double>(restarts);
        var bclSamples = new List<double>(restarts);
        try
        {
            for (int i = 0; i < restarts; i++)
            {
                sidecar.Arm();
                bcl.Arm();
                peer.Kill();
                Thread.Sleep(downMs);
                peer.Start();
                long restartedAt = Stopwatch.GetTimestamp();
                sidecarSamples.Add(sidecar.WaitFirstMessage(restartedAt));
                bclSamples.Add(bcl.WaitFirstMessage(restartedAt));
            }
        }
        finally
        {
            peer.Kill();
        }

        Print(kind, "SidecarWebSocket + ReconnectPolicy", sidecarSamples);
        Print(kind, "ClientWebSocket + reconnect loop", bclSamples);
    }

    private static void Print(string peer, string client, List<double> samples)
    {
        samples.Sort();
        double P(double p) => samples[Math.Min(samples.Count - 1, (int)Math.Ceiling(p * samples.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {peer} | {client} | {P(0.50):0.00} | {P(0.99):0.00} | {samples[^1]:0.00} | {samples.Count} |"));
    }

    private interface IRestartablePeer
    {
        Uri Uri { get; }

        void Kill();

        void Start();
    }

    private sealed class OwnPeer : IRestartablePeer
    {
        private LoopbackEchoServer? _server = new(WaitStrategy.SpinThenPark);

        public OwnPeer() => Uri = _server!.Uri;

        public Uri Uri { get; }

        public void Kill()
        {
            _server?.Dispose();
            _server = null;
        }

        public void Start() => _server = new LoopbackEchoServer(WaitStrategy.SpinThenPark, port: Uri.Port);
    }

    private sealed class BlockingPeer : IRestartablePeer
    {
        private BlockingEchoServer? _server = new();

        public BlockingPeer() => Uri = _server!.Uri;

        public Uri Uri { get; }

        public void Kill()
        {
            _server?.Dispose();
            _server = null;
        }

        public void Start() => _server = new BlockingEchoServer(Uri.Port);
    }

    private sealed class NodePeer : IRestartablePeer
    {
        private NodeEchoPeer? _process = NodeEchoPeer.Start();

        public NodePeer() => Uri = _process!.Uri;

        public Uri Uri { get; }

        public void Kill()
        {
            _process?.Kill();
            _process = null;
        }

        public void Start() => _process = NodeEchoPeer.Start(Uri.Port); // returns once it printed LISTENING
    }

    /// <summary>A client whose receiving thread stamps the first subscription echo after <see cref="Arm"/>.</summary>
    private abstract class Client : IDisposable
    {
        private readonly ManualResetEventSlim _subscribed = new(false);
        private long _subscribedAt;

        public void Arm() => _subscribed.Reset();

        public void WaitSubscribed()
        {
            if (!_subscribed.Wait(TimeSpan.FromSeconds(10)))
            {
                throw new TimeoutException(GetType().Name + ": no subscription echo");
            }
        }

        /// <summary>Milliseconds from <paramref name="restartedAt"/> to the subscription echo on the new connection.</summary>
        public double WaitFirstMessage(long restartedAt)
        {
            WaitSubscribed();
            return Stopwatch.GetElapsedTime(restartedAt, Volatile.Read(ref _subscribedAt)).TotalMilliseconds;
        }

        public abstract void Dispose();

        protected void OnSubscriptionEcho()
        {
            Volatile.Write(ref _subscribedAt, Stopwatch.GetTimestamp());
            _subscribed.Set();
        }
    }

    private sealed class SidecarClient : Client
    {
        private readonly SidecarWebSocket _ws;
        private readonly Thread _receiver;

        public SidecarClient(Uri uri, ReconnectPolicy policy)
        {
            _ws = SidecarWebSocket.Connect(uri, new SidecarOptions
            {
                Reconnect = new ReconnectPolicy
                {
                    InitialDelay = policy.InitialDelay,
                    MaxDelay = policy.MaxDelay,
                    OnConnected = sender => sender.Send("sub"u8, MessageType.Text),
                },
            });
            _receiver = new Thread(Receive) { IsBackground = true, Name = "sidecar receiver" };
            _receiver.Start();
        }

        public override void Dispose()
        {
            _ws.Exit();
            _receiver.Join();
        }

        private void Receive()
        {
            while (_ws.TryReceive(Timeout.InfiniteTimeSpan, out ReceivedMessage message))
            {
                using (message)
                {
                    if (message.Reconnect is null && message.Span.SequenceEqual("sub"u8))
                    {
                        OnSubscriptionEcho();
                    }
                }
            }
        }
    }

    /// <summary>What an application writes around <see cref="ClientWebSocket"/>: catch, back off (the same full jitter), reconnect, resubscribe.</summary>
    private sealed class ClientWebSocketClient : Client
    {
        private readonly Uri _uri;
        private readonly ReconnectPolicy _policy;
        private readonly Thread _thread;
        private readonly CancellationTokenSource _stop = new();
        private ClientWebSocket? _ws;

        public ClientWebSocketClient(Uri uri, ReconnectPolicy policy)
        {
            _uri = uri;
            _policy = policy;
            _thread = new Thread(Run) { IsBackground = true, Name = "ClientWebSocket client" };
            _thread.Start();
        }

        public override void Dispose()
        {
            _stop.Cancel();
            _ws?.Abort();
            _thread.Join(TimeSpan.FromSeconds(5));
            _ws?.Dispose();
        }

        private void Run()
        {
            byte[] buffer = new byte[4096];
            bool lost = false;
            while (!_stop.IsCancellationRequested)
            {
                ConnectWithBackoff(lost);
                lost = true;
                if (_ws is null)
                {
                    return; // stopped while connecting
                }

                try
                {
                    while (true)
                    {
                        ValueWebSocketReceiveResult result = _ws!.ReceiveAsync(buffer.AsMemory(), _stop.Token).AsTask().GetAwaiter().GetResult();
                        if (result.MessageType == WebSocketMessageType.Close)
                        {
                            break;
                        }

                        if (buffer.AsSpan(0, result.Count).SequenceEqual("sub"u8))
                        {
                            OnSubscriptionEcho();
                        }
                    }
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
                {
                    // Lost: reconnect below.
                }

                _ws?.Dispose();
                _ws = null;
            }
        }

        /// <summary>Connects and resubscribes; after a loss every attempt waits its drawn delay first, as the library's do.</summary>
        private void ConnectWithBackoff(bool afterLoss)
        {
            for (int attempt = 1; !_stop.IsCancellationRequested; attempt++)
            {
                if (afterLoss || attempt > 1)
                {
                    Thread.Sleep(_policy.NextDelay(attempt));
                }

                var ws = new ClientWebSocket();
                try
                {
                    ws.ConnectAsync(_uri, _stop.Token).GetAwaiter().GetResult();
                    ws.SendAsync(Encoding.UTF8.GetBytes("sub"), WebSocketMessageType.Text, true, _stop.Token).GetAwaiter().GetResult();
                    _ws = ws;
                    return;
                }
                catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or System.Net.Http.HttpRequestException)
                {
                    ws.Dispose();
                }
            }
        }
    }
}
