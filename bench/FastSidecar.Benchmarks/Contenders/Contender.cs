using System.Diagnostics;

namespace FastSidecar.Benchmarks.Contenders;

/// <summary>The ways of doing a 64-byte echo round trip that the suites compare.</summary>
public enum ContenderKind
{
    /// <summary>A raw socket sending pre-built masked frames and busy-polling a non-blocking socket for the echo: the floor.</summary>
    RawBusyPoll,

    /// <summary>A raw socket sending pre-built masked frames and blocking in <c>Receive</c>: the blocking floor.</summary>
    RawBlocking,

    /// <summary><see cref="SidecarWebSocket"/> whose loop spins, then parks.</summary>
    SidecarSpinThenPark,

    /// <summary><see cref="SidecarWebSocket"/> whose loop never parks.</summary>
    SidecarBusySpin,

    /// <summary><see cref="SidecarWebSocket"/> whose loop parks as soon as it is idle.</summary>
    SidecarBlocking,

    /// <summary><c>ClientWebSocket</c>, each call blocked on with <c>GetAwaiter().GetResult()</c>.</summary>
    ClientWebSocketSync,

    /// <summary><c>ClientWebSocket</c> driven by an <c>async</c> loop on the thread pool.</summary>
    ClientWebSocketAsync,
}

/// <summary>
/// One connection of one contender to the shared echo server. Connected by the constructor, closed by
/// <see cref="IDisposable.Dispose"/>. Not thread-safe: one measuring thread at a time.
/// </summary>
public abstract class Contender : IDisposable
{
    /// <summary>The stopwatch ticks of the round trips measured by <see cref="MeasureBlock"/>; Linux ticks are nanoseconds.</summary>
    public delegate void Record(long elapsedTicks);

    public abstract ContenderKind Kind { get; }

    /// <summary>Fixes the payload the next round trips send; raw contenders pre-build (and pre-mask) their frame here.</summary>
    public virtual void Prepare(ReadOnlyMemory<byte> payload) => Payload = payload;

    protected ReadOnlyMemory<byte> Payload { get; private set; }

    /// <summary>Sends the prepared payload and waits for its echo; throws if the echo does not come back whole.</summary>
    public abstract void RoundTrip();

    /// <summary>Runs <paramref name="count"/> round trips, timing each one.</summary>
    public virtual void MeasureBlock(int count, Record record)
    {
        for (int i = 0; i < count; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RoundTrip();
            record(Stopwatch.GetTimestamp() - start);
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected abstract void Dispose(bool disposing);

    /// <summary>Connects a contender of <paramref name="kind"/> to <paramref name="uri"/>.</summary>
    public static Contender Create(ContenderKind kind, Uri uri) => kind switch
    {
        ContenderKind.RawBusyPoll => new RawSocketContender(uri, busyPoll: true),
        ContenderKind.RawBlocking => new RawSocketContender(uri, busyPoll: false),
        ContenderKind.SidecarSpinThenPark => new SidecarContender(uri, WaitStrategy.SpinThenPark),
        ContenderKind.SidecarBusySpin => new SidecarContender(uri, WaitStrategy.BusySpin),
        ContenderKind.SidecarBlocking => new SidecarContender(uri, WaitStrategy.Blocking),
        ContenderKind.ClientWebSocketSync => new ClientWebSocketContender(uri, async: false),
        ContenderKind.ClientWebSocketAsync => new ClientWebSocketContender(uri, async: true),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    protected static void ThrowBadEcho(int expected, int actual) =>
        throw new InvalidOperationException($"Echo of {actual} bytes, expected {expected}.");
}
