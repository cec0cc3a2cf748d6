using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FastSidecar.Tests.Reconnect;

/// <summary>
/// A TCP relay on loopback between a client and a server, for tests of connections that break in the middle: it cuts
/// connections (now, or after a number of bytes in one direction, so mid-handshake or mid-message), delays what it
/// forwards, blackholes live connections (reads and drops, so the sender sees no error, only silence), and refuses
/// new ones (accept, then reset), recording when each connection arrived.
/// </summary>
/// <remarks>
/// Thread-safety: the knobs may be set from any thread; each takes effect for the next chunk (delay, blackhole) or the
/// next connection (cuts, refusing). Every socket it opens is closed by <see cref="Dispose"/>.
/// </remarks>
internal sealed class TcpRelay : IDisposable
{
    private const int ChunkSize = 16 * 1024;

    private readonly IPEndPoint _target;
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Pair> _pairs = [];   // guarded by itself
    private readonly List<long> _accepts = []; // Stopwatch timestamps; guarded by itself
    private readonly Task _acceptLoop;
    private long _cutNextUpstreamAfter = -1;
    private long _cutNextDownstreamAfter = -1;
    private long _forwardedDownstream;

    /// <summary>Listens on an ephemeral loopback port and forwards to <paramref name="targetPort"/> on 127.0.0.1.</summary>
    public TcpRelay(int targetPort)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The relay's port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary><c>ws://127.0.0.1:port</c> + <paramref name="path"/>.</summary>
    public Uri UriFor(string path = "/") => new($"ws://127.0.0.1:{Port}{path}");

    /// <summary>New connections are accepted and reset at once, without reaching the server.</summary>
    public bool Refusing { get; set; }

    /// <summary>Every chunk waits this long before it is forwarded (both directions).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Connections accepted so far (refused ones included).</summary>
    public int Accepted
    {
        get
        {
            lock (_accepts)
            {
                return _accepts.Count;
            }
        }
    }

    /// <summary>Bytes forwarded from the server to clients so far, over every connection.</summary>
    public long ForwardedDownstream => Interlocked.Read(ref _forwardedDownstream);

    /// <summary>Connections currently relayed.</summary>
    public int LiveConnections
    {
        get
        {
            lock (_pairs)
            {
                return _pairs.Count;
            }
        }
    }

    /// <summary>When each connection was accepted (<see cref="Stopwatch"/> timestamps), in order.</summary>
    public long[] AcceptTimestamps()
    {
        lock (_accepts)
        {
            return [.. _accepts];
        }
    }

    /// <summary>The next connection is cut (reset both ways) once <paramref name="bytes"/> bytes from the client have been forwarded.</summary>
    public void CutNextUpstreamAfter(long bytes) => Volatile.Write(ref _cutNextUpstreamAfter, bytes);

    /// <summary>The next connection is cut once <paramref name="bytes"/> bytes from the server have been forwarded (e.g. inside the 101 response).</summary>
    public void CutNextDownstreamAfter(long bytes) => Volatile.Write(ref _cutNextDownstreamAfter, bytes);

    /// <summary>Resets every live connection, both sides.</summary>
    public void CutAll()
    {
        foreach (Pair pair in Snapshot())
        {
            pair.Cut();
        }
    }

    /// <summary>Live connections stop forwarding anything from now on (both directions); their sockets stay open.</summary>
    public void BlackholeAll()
    {
        foreach (Pair pair in Snapshot())
        {
            pair.Blackholed = true;
        }
    }

    /// <summary>Stops accepting and resets every connection.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        CutAll();
        try
        {
            _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // The accept loop ends with the listener's disposal.
        }

        _stop.Dispose();
    }

    private Pair[] Snapshot()
    {
        lock (_pairs)
        {
            return [.. _pairs];
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            lock (_accepts)
            {
                _accepts.Add(Stopwatch.GetTimestamp());
            }

            if (Refusing)
            {
                Reset(client);
                continue;
            }

            _ = Task.Run(() => RelayAsync(client, Interlocked.Exchange(ref _cutNextUpstreamAfter, -1), Interlocked.Exchange(ref _cutNextDownstreamAfter, -1)));
        }
    }

    private async Task RelayAsync(Socket client, long upstreamLimit, long downstreamLimit)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        var pair = new Pair(client, server);
        try
        {
            await server.ConnectAsync(_target, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            pair.Cut();
            return;
        }

        lock (_pairs)
        {
            _pairs.Add(pair);
        }

        try
        {
            await Task.WhenAll(PumpAsync(pair, client, server, upstreamLimit, downstream: false),
                PumpAsync(pair, server, client, downstreamLimit, downstream: true)).ConfigureAwait(false);
        }
        finally
        {
            pair.Cut();
            lock (_pairs)
            {
                _pairs.Remove(pair);
            }
        }
    }

    private async Task PumpAsync(Pair pair, Socket from, Socket to, long limit, bool downstream)
    {
        byte[] buffer = new byte[ChunkSize];
        long forwarded = 0;
        try
        {
            while (true)
            {
                int count = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (count == 0)
                {
                    to.Shutdown(SocketShutdown.Send); // pass the FIN on
                    return;
                }

                if (pair.Blackholed)
                {
                    continue; // read and dropped: the sender sees only silence
                }

                if (Delay > TimeSpan.Zero)
                {
                    await Task.Delay(Delay, _stop.Token).ConfigureAwait(false);
                }

                int allowed = limit < 0 ? count : (int)Math.Min(count, limit - forwarded);
                if (allowed > 0)
                {
                    await to.SendAsync(buffer.AsMemory(0, allowed), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                    forwarded += allowed;
                    if (downstream)
                    {
                        Interlocked.Add(ref _forwardedDownstream, allowed);
                    }
                }

                if (limit >= 0 && forwarded >= limit)
                {
                    pair.Cut();
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            pair.Cut();
        }
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0); // close with RST, not FIN
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }

        socket.Dispose();
    }

    /// <summary>One relayed connection: the client's socket and the one to the server.</summary>
    private sealed class Pair(Socket client, Socket server)
    {
        private int _cut;
        private volatile bool _blackholed;

        public bool Blackholed
        {
            get => _blackholed;
            set => _blackholed = value;
        }

        public void Cut()
        {
            if (Interlocked.Exchange(ref _cut, 1) == 0)
            {
                Reset(client);
                Reset(server);
            }
        }
    }
}
