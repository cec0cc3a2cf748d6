using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Hostile;

/// <summary>
/// Hostile-server tests count live loops and process-wide allocations, so they run alone, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HostileServerGroup
{
    public const string Name = "Hostile servers";
}

/// <summary>The deadlines, the options and the leak checks every hostile-server test shares.</summary>
internal static class HostileServerSupport
{
    /// <summary>The close timeout the tests set: short, so a missed deadline shows as a slow test rather than a hang.</summary>
    public static readonly TimeSpan CloseTimeout = TimeSpan.FromMilliseconds(500);

    /// <summary>Slack over any deadline for a shared, busy 2-core machine; it bounds, it does not measure.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(5);

    /// <summary>How long a test waits for something that should happen at once.</summary>
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    public static SidecarOptions Options(SidecarBufferPool pool, TimeSpan? connectTimeout = null, long maxMessageSize = 16 << 20, int maxHandshakeHeaderBytes = 16 * 1024) => new()
    {
        BufferPool = pool,
        ConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
        CloseTimeout = CloseTimeout,
        JoinTimeout = TimeSpan.FromSeconds(10),
        MaxMessageSize = maxMessageSize,
        MaxHandshakeHeaderBytes = maxHandshakeHeaderBytes,
    };

    /// <summary>The handshake, then <paramref name="steps"/>.</summary>
    public static ScriptedServer ScriptedAfterHandshake(params ScriptStep[] steps) =>
        new([ScriptStep.ReadHandshakeRequest(), ScriptStep.SendValidHandshakeResponse(), .. steps]);

    /// <summary>Fails with a readable message when <paramref name="elapsed"/> overran <paramref name="deadline"/> by more than the margin.</summary>
    public static void AssertWithin(TimeSpan elapsed, TimeSpan deadline, string what) =>
        Assert.True(elapsed < deadline + Margin, $"{what} took {elapsed.TotalMilliseconds:0} ms; deadline {deadline.TotalMilliseconds:0} ms + margin {Margin.TotalSeconds:0} s");

    /// <summary>Nothing rented from the test's pool, and the connection's loop thread gone.</summary>
    public static void AssertNoLeaks(SidecarBufferPool pool, int liveLoopsBefore)
    {
        Assert.Equal(0, pool.Outstanding);
        Assert.Equal(liveLoopsBefore, SidecarLoop.LiveLoops);
    }

    /// <summary>
    /// What a client must put on the wire when it fails the connection: one masked close frame with <paramref name="code"/>,
    /// then the TCP close, in that order.
    /// </summary>
    public static void AssertClosedWith(ScriptedConnection connection, ushort code)
    {
        connection.AssertScriptSucceeded(Generous);
        Assert.True(connection.WaitForClientTcpClose(Generous), connection.Describe());
        ClientFrame close = Assert.Single(connection.Frames, f => f.Opcode == ServerFrames.OpClose);
        Assert.True(close.Masked, connection.Describe());
        Assert.Equal(code, close.CloseCode);
        Assert.True(close.ReceivedAfter <= connection.ClientClosedTcpAfter, connection.Describe());
    }

    public static Stopwatch Clock() => Stopwatch.StartNew();
}
