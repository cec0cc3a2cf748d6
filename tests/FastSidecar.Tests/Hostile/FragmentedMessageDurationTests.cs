using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;
using static FastSidecar.Tests.Hostile.HostileServerSupport;

namespace FastSidecar.Tests.Hostile;

/// <summary>
/// A server that starts a fragmented message and never finishes it: every frame is legal (RFC 6455 §5.4 puts no bound
/// on the number of fragments), so only <see cref="SidecarOptions.MaxFragmentedMessageDuration"/> ends it, with 1008.
/// </summary>
[Collection(HostileServerGroup.Name)]
public sealed class FragmentedMessageDurationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMilliseconds(300);

    [Fact]
    public void Endless_zero_length_continuation_frames_fail_with_1008_after_the_limit()
    {
        AssertFailsAfterTheLimit(ScriptStep.Custom("a non-final text frame, then empty continuations until the client closes", c =>
        {
            c.Send(ServerFrames.Text("never ends", fin: false));
            long until = Environment.TickCount64 + (long)Generous.TotalMilliseconds;
            while (Environment.TickCount64 < until)
            {
                c.Send(ServerFrames.Continuation([], fin: false));
                try
                {
                    if (c.ReadFrame(TimeSpan.FromMilliseconds(10)).Opcode == ServerFrames.OpClose)
                    {
                        return;
                    }
                }
                catch (TimeoutException)
                {
                    // Nothing from the client yet: keep the message going.
                }
            }

            throw new TimeoutException("the client never closed the endless message");
        }));
    }

    [Fact]
    public void A_fragmented_message_stalled_after_its_first_frame_fails_with_1008_after_the_limit()
    {
        // No frame arrives to trigger a check: the loop's timer alone must catch it.
        AssertFailsAfterTheLimit(
            ScriptStep.SendRaw(ServerFrames.Binary([1, 2, 3], fin: false)),
            ScriptStep.ExpectClose((ushort)WebSocketCloseCode.PolicyViolation, Generous));
    }

    [Fact]
    public void Back_to_back_fragmented_messages_each_within_the_limit_are_not_cut_off()
    {
        // Each message takes a twentieth of the limit, the stream several limits: the clock is per message. The limit
        // is longer than the other tests' so that a descheduled sender on a busy machine does not exceed it.
        const int Messages = 60;
        var limit = TimeSpan.FromSeconds(1);
        var pool = new SidecarBufferPool();
        int loops = SidecarLoop.LiveLoops;
        using var server = ScriptedAfterHandshake(ScriptStep.Custom("fragmented messages back to back", c =>
        {
            for (int i = 0; i < Messages; i++)
            {
                c.Send(ServerFrames.Text("part one, ", fin: false));
                c.Wait(TimeSpan.FromMilliseconds(50));
                c.Send(ServerFrames.Continuation("part two"u8, fin: true));
            }
        }), ScriptStep.ExpectClose(1000), ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, LimitedOptions(pool, limit));
        for (int i = 0; i < Messages; i++)
        {
            using ReceivedMessage message = ws.Receive(Generous);
            Assert.Equal("part one, part two", message.GetText());
        }

        Assert.Equal(WebSocketCloseCode.NormalClosure, ws.Exit().CloseCode);
        AssertNoLeaks(pool, loops);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_non_positive_limit_is_rejected(int milliseconds)
    {
        var options = new SidecarOptions { MaxFragmentedMessageDuration = TimeSpan.FromMilliseconds(milliseconds) };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => SidecarWebSocket.Start(new Uri("ws://127.0.0.1:1/"), options));
        Assert.Equal(nameof(SidecarOptions.MaxFragmentedMessageDuration), error.ParamName);
    }

    private static SidecarOptions LimitedOptions(SidecarBufferPool pool, TimeSpan? limit = null) => new()
    {
        BufferPool = pool,
        CloseTimeout = CloseTimeout,
        JoinTimeout = TimeSpan.FromSeconds(10),
        MaxFragmentedMessageDuration = limit ?? Limit,
    };

    private static void AssertFailsAfterTheLimit(params ScriptStep[] steps)
    {
        int loops = SidecarLoop.LiveLoops;
        var pool = new SidecarBufferPool();
        using var server = ScriptedAfterHandshake([.. steps, ScriptStep.CloseTcp()]);
        // The clock starts before the connection exists, so it cannot start after the message did.
        var clock = Clock();
        var ws = SidecarWebSocket.Connect(server.Uri, LimitedOptions(pool));

        var error = Assert.Throws<WebSocketProtocolException>(() => ws.Receive(Generous));
        TimeSpan elapsed = clock.Elapsed;
        Assert.Equal(WebSocketCloseCode.PolicyViolation, error.CloseCode);
        Assert.Contains("MaxFragmentedMessageDuration", error.Message, StringComparison.Ordinal);
        Assert.True(elapsed >= Limit, $"failed after {elapsed.TotalMilliseconds:0} ms, before the {Limit.TotalMilliseconds:0} ms limit");
        AssertWithin(elapsed, Limit, "failing the endless message");

        ShutdownReport report = ws.Exit();
        Assert.Equal(CloseInitiator.Error, report.CloseInitiator);
        Assert.Same(error, report.Fault);
        Assert.True(report.ThreadJoined);
        AssertClosedWith(server.WaitForConnection(Generous), (ushort)WebSocketCloseCode.PolicyViolation);
        AssertNoLeaks(pool, loops);
    }
}
