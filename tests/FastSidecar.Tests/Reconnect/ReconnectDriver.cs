using System.Globalization;
using FastSidecar.Buffers;

namespace FastSidecar.Tests.Reconnect;

/// <summary>
/// A feed client under test: one thread sends numbered text messages, one receives echoes and reconnect notices, and
/// <see cref="ReconnectPolicy.OnConnected"/> sends a numbered subscription on every connection. The test breaks the
/// connection meanwhile; <see cref="AssertAccounting"/> checks that every message is accounted for, in order.
/// </summary>
internal sealed class ReconnectDriver : IDisposable
{
    private readonly List<object> _received = []; // string (echoed text) or ReconnectNotice, in arrival order; guarded by itself
    private readonly Thread _sender;
    private readonly Thread _receiver;
    private readonly int _payloadSize;
    private readonly TimeSpan _pace;
    private volatile bool _stopSending;
    private long _accepted;
    private int _subscriptions;

    public ReconnectDriver(Uri uri, ReconnectPolicy policy, int payloadSize = 64, TimeSpan? pace = null, TimeSpan? keepAlive = null)
    {
        _payloadSize = payloadSize;
        _pace = pace ?? TimeSpan.FromMilliseconds(1);
        Pool = new SidecarBufferPool();
        var withHook = new ReconnectPolicy
        {
            InitialDelay = policy.InitialDelay,
            MaxDelay = policy.MaxDelay,
            Multiplier = policy.Multiplier,
            MaxAttempts = policy.MaxAttempts,
            ShouldReconnect = policy.ShouldReconnect,
            Jitter = policy.Jitter,
            OnConnected = sender => sender.Send("sub#" + Interlocked.Increment(ref _subscriptions).ToString(CultureInfo.InvariantCulture)),
        };
        Options = new SidecarOptions
        {
            Reconnect = withHook,
            BufferPool = Pool,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            CloseTimeout = TimeSpan.FromMilliseconds(500),
            KeepAliveInterval = keepAlive ?? TimeSpan.FromSeconds(30),
            KeepAliveTimeout = keepAlive ?? TimeSpan.FromSeconds(10),
        };
        Socket = SidecarWebSocket.Connect(uri, Options);
        _sender = new Thread(SendLoop) { Name = "test sender", IsBackground = true };
        _receiver = new Thread(ReceiveLoop) { Name = "test receiver", IsBackground = true };
        _receiver.Start();
        _sender.Start();
    }

    public SidecarOptions Options { get; }

    public SidecarBufferPool Pool { get; }

    public SidecarWebSocket Socket { get; }

    /// <summary>Messages <c>Send</c> accepted.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>What the receive loop ended with (null while it runs or when Exit ended it).</summary>
    public Exception? ReceiveEnd { get; private set; }

    public List<object> Received()
    {
        lock (_received)
        {
            return [.. _received];
        }
    }

    public List<ReconnectNotice> Notices() => Received().OfType<ReconnectNotice>().ToList();

    public int EchoCount => Received().OfType<string>().Count(s => s.StartsWith('m'));

    /// <summary>Waits until <paramref name="condition"/> holds; fails the test with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static void WaitFor(Func<bool> condition, TimeSpan timeout, string what) =>
        Assert.True(SpinWait.SpinUntil(condition, timeout), "timed out waiting for " + what);

    /// <summary>Waits for more echoes than there are now: traffic flows on the current connection.</summary>
    public void WaitForTraffic(int more = 20, double seconds = 10)
    {
        int target = EchoCount + more;
        WaitFor(() => EchoCount >= target, TimeSpan.FromSeconds(seconds), $"{more} more echoes (have {EchoCount}); state {Socket.State}");
    }

    /// <summary>Stops sending, waits for the echo of the last message, exits, and returns the report.</summary>
    public ShutdownReport StopAndExit()
    {
        _stopSending = true;
        _sender.Join();
        string last = Label(Accepted - 1);
        WaitFor(() => Received().OfType<string>().Any(s => s.StartsWith(last, StringComparison.Ordinal)), TimeSpan.FromSeconds(10),
            "the echo of the last message " + last);
        ShutdownReport report = Socket.Exit();
        _receiver.Join();
        return report;
    }

    /// <summary>Every accepted message is sent, in doubt or not sent; echoes come in order, once each; each reconnect's subscription comes first.</summary>
    public void AssertAccounting(ShutdownReport report, int expectedNotices)
    {
        List<object> received = Received();
        List<ReconnectNotice> notices = received.OfType<ReconnectNotice>().ToList();
        Assert.Equal(expectedNotices, notices.Count);
        Assert.Equal(Accepted, report.MessagesSent + report.MessagesInDoubt + report.MessagesNotSent);
        Assert.Equal(notices.Sum(n => n.MessagesInDoubt), report.MessagesInDoubt);
        Assert.Equal(Enumerable.Range(1, notices.Count), notices.Select(n => n.Reconnection));

        long previous = -1;
        foreach (string echo in received.OfType<string>().Where(s => s.StartsWith('m')))
        {
            long index = long.Parse(echo.AsSpan(1, 8), CultureInfo.InvariantCulture);
            Assert.True(index > previous, $"echo {index} after {previous}: out of order or twice");
            previous = index;
        }

        // No message is echoed that the accounting says never left.
        Assert.InRange(EchoCount, 0, report.MessagesSent + report.MessagesInDoubt);

        // The subscription of each new connection is the first thing it echoes: it went out ahead of the backlog.
        for (int i = 0; i < received.Count - 1; i++)
        {
            if (received[i] is ReconnectNotice notice)
            {
                Assert.True(received[i + 1] is string s && s.StartsWith("sub#", StringComparison.Ordinal),
                    $"after {notice}, first came {received[i + 1]}");
            }
        }

        Assert.Equal(0, Pool.Outstanding);
        Assert.True(report.ThreadJoined);
    }

    public void Dispose()
    {
        _stopSending = true;
        Socket.Exit();
        _sender.Join();
        _receiver.Join();
    }

    private static string Label(long index) => "m" + index.ToString("D8", CultureInfo.InvariantCulture);

    private void SendLoop()
    {
        for (long i = 0; !_stopSending; i++)
        {
            string text = Label(i).PadRight(_payloadSize, 'x');
            try
            {
                Socket.Send(text);
                Interlocked.Increment(ref _accepted);
            }
            catch (SidecarWebSocketException)
            {
                return;
            }
            catch (TimeoutException)
            {
                i--; // not queued: the same number goes again
            }

            if (_pace > TimeSpan.Zero)
            {
                Thread.Sleep(_pace);
            }
        }
    }

    private void ReceiveLoop()
    {
        try
        {
            while (true)
            {
                if (!Socket.TryReceive(Timeout.InfiniteTimeSpan, out ReceivedMessage message))
                {
                    return; // exited, or ended for good: Receive would throw the cause
                }

                object item = message.Reconnect is { } notice ? notice : message.GetText();
                message.Dispose();
                lock (_received)
                {
                    _received.Add(item);
                }
            }
        }
        catch (Exception e)
        {
            ReceiveEnd = e;
        }
    }
}
