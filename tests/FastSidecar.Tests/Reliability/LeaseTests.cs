using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reliability;

/// <summary>A received message's buffer is returned once, however often a careless caller disposes it.</summary>
public sealed class LeaseTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(16)]
    [InlineData(100 * 1024)] // above 64 KiB the arrays come from the process-wide ArrayPool
    public void Disposing_a_copy_after_the_original_never_lets_two_later_messages_share_a_buffer(int size)
    {
        // Issue: `var copy = m; m.Dispose(); copy.Dispose();` made the next two messages share one buffer.
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        ws.Send(Payload('x', size));
        ReceivedMessage first = ws.Receive(Wait);
        ReceivedMessage copy = first;
        first.Dispose();
        copy.Dispose();
        first.Dispose();
        Assert.True(pool.Outstanding >= 0, $"outstanding {pool.Outstanding}: a buffer was returned twice");

        ws.Send(Payload('a', size));
        ws.Send(Payload('b', size));
        using ReceivedMessage a = ws.Receive(Wait);
        using ReceivedMessage b = ws.Receive(Wait);
        Assert.Equal((byte)'a', a.Span[0]);
        Assert.Equal((byte)'b', b.Span[0]);
        Assert.Equal((byte)'a', a.Span[^1]);
    }

    [Fact]
    public void Reading_a_disposed_message_through_any_copy_throws_instead_of_showing_another_messages_bytes()
    {
        var pool = new SidecarBufferPool();
        using var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        ws.Send("hello"u8);
        ReceivedMessage message = ws.Receive(Wait);
        ReceivedMessage copy = message;
        message.Dispose();
        Assert.Throws<ObjectDisposedException>(() => copy.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => copy.Memory.Length);
        Assert.Equal(5, copy.Length);
    }

    [Fact]
    public void Double_disposal_under_a_stream_of_messages_keeps_every_payload_intact_and_every_buffer_counted()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        for (int i = 0; i < 2_000; i++)
        {
            string text = "message " + i;
            ws.Send(Encoding.UTF8.GetBytes(text), MessageType.Text);
            ReceivedMessage message = ws.Receive(Wait);
            ReceivedMessage copy = message;
            Assert.Equal(text, message.GetText());
            copy.Dispose();
            message.Dispose();
        }

        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Receive_into_a_caller_buffer_needs_no_lease_and_keeps_a_message_that_does_not_fit()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        ws.Send("0123456789"u8, MessageType.Text);
        ws.Send("ab"u8);

        Span<byte> small = stackalloc byte[4];
        try
        {
            ws.Receive(small, Wait);
            Assert.Fail("a 10-byte message fitted in 4 bytes");
        }
        catch (ArgumentException e)
        {
            Assert.Contains("10 bytes", e.Message, StringComparison.Ordinal);
        }

        Span<byte> large = stackalloc byte[64];
        ReceiveResult first = ws.Receive(large, Wait);
        Assert.Equal(MessageType.Text, first.Type);
        Assert.Equal("0123456789", Encoding.UTF8.GetString(large[..first.Length]));
        byte[] second = new byte[64];
        Assert.True(SpinWait.SpinUntil(() => ws.TryReceive(second, out first), Wait));
        large = second;
        Assert.Equal(MessageType.Binary, first.Type);
        Assert.Equal("ab", Encoding.UTF8.GetString(large[..first.Length]));

        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_message_kept_for_a_larger_buffer_is_counted_at_Exit_if_nobody_takes_it()
    {
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.Uri, new SidecarOptions { BufferPool = pool });
        ws.Send(new byte[100]);
        Assert.Throws<ArgumentException>(() => ws.Receive(new byte[10], Wait));
        ShutdownReport report = ws.Exit();
        Assert.Equal(1, report.MessagesNotConsumed);
        Assert.Equal(0, pool.Outstanding);
    }

    private static byte[] Payload(char fill, int size)
    {
        byte[] payload = new byte[size];
        payload.AsSpan().Fill((byte)fill);
        return payload;
    }
}
