using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// Receiving in batches and the blocks behind them: order, every kind of message, backpressure, and the pool's count
/// back to zero on every path (taken in batches, leased and disposed in any order or twice, left queued at Exit).
/// </summary>
public sealed class BatchReceiveTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private sealed class Collected
    {
        public List<(MessageType Type, byte[] Payload)> Messages { get; } = [];
    }

    private static readonly ReceivedMessageHandler<Collected> s_collect =
        static (collected, payload, type) => collected.Messages.Add((type, payload.ToArray()));

    private static SidecarOptions Options(SidecarBufferPool pool, int receiveCapacity = 4096) => new()
    {
        BufferPool = pool, ReceiveQueueCapacity = receiveCapacity, WaitStrategy = WaitStrategy.SpinThenPark,
        CloseTimeout = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public void A_flood_taken_in_batches_arrives_complete_and_in_order_and_every_block_goes_back()
    {
        const int Messages = 100_000;
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, Messages), Options(pool));
        long next = 0;
        int calls = 0;
        var state = new StrongBox<long>(0);
        while (state.Value < Messages)
        {
            int handled = ws.ReceiveBatch(state, static (expected, payload, type) =>
            {
                Assert.Equal(MessageType.Binary, type);
                Assert.Equal(64, payload.Length);
                Assert.Equal(expected.Value, BinaryPrimitives.ReadInt64LittleEndian(payload));
                expected.Value++;
            }, 512, Wait);
            Assert.InRange(handled, 1, 512);
            calls++;
        }

        next = state.Value;
        Assert.Equal(Messages, next);
        Assert.True(calls < Messages, "a flood is handed over several messages per call");
        Assert.Equal(0, ws.ReceiveBatch(state, s_collectLong, 10, TimeSpan.FromMilliseconds(20)));
        ShutdownReport report = ws.Exit();
        Assert.Equal(0, report.MessagesNotConsumed);
        Assert.Equal(0, pool.Outstanding);
    }

    private static readonly ReceivedMessageHandler<StrongBox<long>> s_collectLong = static (box, _, _) => box.Value++;

    [Fact]
    public void Text_binary_fragmented_empty_and_large_messages_all_arrive_through_a_batch()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        byte[] large = new byte[40 * 1024];
        new Random(13).NextBytes(large);
        byte[] burst =
        [
            .. ServerFrames.Text("first"),
            .. ServerFrames.Binary([1, 2, 3]),
            .. ServerFrames.Text("héllo ", fin: false),
            .. ServerFrames.Ping("in between"u8),
            .. ServerFrames.Continuation("wörld"u8, fin: true),
            .. ServerFrames.Binary([]),
            .. ServerFrames.Binary(large),
            .. ServerFrames.Binary(new byte[] { 9 }, fin: false),
            .. ServerFrames.Continuation(new byte[] { 8 }, fin: true),
            .. ServerFrames.Text("last"),
        ];
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.SendRaw(burst),
            ScriptStep.ExpectFrame("the pong", f => f.Opcode == ServerFrames.OpPong),
            ScriptStep.ExpectClose(1000),
            ScriptStep.SendRaw(ServerFrames.Close(1000)),
            ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var collected = new Collected();
        while (collected.Messages.Count < 7)
        {
            Assert.True(ws.ReceiveBatch(collected, s_collect, 100, Wait) > 0);
        }

        Assert.Equal(
            [(MessageType.Text, "first"), (MessageType.Binary, "010203"), (MessageType.Text, "héllo wörld"), (MessageType.Binary, ""),
             (MessageType.Binary, Convert.ToHexString(large)), (MessageType.Binary, "0908"), (MessageType.Text, "last")],
            collected.Messages.Select(m => (m.Type, m.Type == MessageType.Text ? System.Text.Encoding.UTF8.GetString(m.Payload) : Convert.ToHexString(m.Payload))));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Leases_disposed_out_of_order_twice_and_from_other_threads_release_every_block_once()
    {
        const int Messages = 20_000;
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, Messages), Options(pool, receiveCapacity: 32 * 1024));
        var held = new ReceivedMessage[Messages];
        for (int i = 0; i < Messages; i++)
        {
            held[i] = ws.Receive(Wait);
            Assert.Equal(i, BinaryPrimitives.ReadInt64LittleEndian(held[i].Span));
        }

        ReceivedMessage copy = held[17];
        var shuffled = held.OrderBy(_ => Random.Shared.Next()).ToArray();
        Thread[] threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            for (int i = t; i < shuffled.Length; i += 4)
            {
                shuffled[i].Dispose();
                shuffled[i].Dispose();
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            Assert.True(thread.Join(Wait));
        }

        Assert.Throws<ObjectDisposedException>(() => copy.Span.Length);
        copy.Dispose(); // a copy's dispose after the original's does nothing
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Exit_with_batches_unreceived_and_leases_still_held_leaks_nothing()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, 10_000), Options(pool, receiveCapacity: 1024));
        ReceivedMessage first = ws.Receive(Wait);
        ReceivedMessage second = ws.Receive(Wait);
        var collected = new Collected();
        Assert.True(ws.ReceiveBatch(collected, s_collect, 10, Wait) > 0);
        SpinWait.SpinUntil(() => ws.PendingReceiveCount == 1024, Wait);
        ShutdownReport report = ws.Exit();
        Assert.True(report.MessagesNotConsumed > 0, "messages were left in the queue");
        Assert.True(pool.Outstanding > 0, "the held leases keep their block");
        second.Dispose();
        var other = new Thread(() => first.Dispose());
        other.Start();
        Assert.True(other.Join(Wait));
        first.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_full_receive_queue_stops_reading_and_batches_resume_it_without_losing_order()
    {
        const int Messages = 50_000;
        const int Capacity = 64;
        var pool = new SidecarBufferPool();
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, Messages), Options(pool, receiveCapacity: Capacity));
        Assert.True(SpinWait.SpinUntil(() => ws.Connection.Session.IsReceivePaused, Wait), "reading pauses on a full queue");
        Thread.Sleep(100);
        Assert.Equal(Capacity, ws.PendingReceiveCount); // not one message more than the queue holds
        var state = new StrongBox<long>(0);
        while (state.Value < Messages)
        {
            ws.ReceiveBatch(state, static (expected, payload, _) =>
            {
                Assert.Equal(expected.Value, BinaryPrimitives.ReadInt64LittleEndian(payload));
                expected.Value++;
            }, 7, Wait);
        }

        Assert.Equal(0, ws.Exit().MessagesNotConsumed);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_handler_that_throws_takes_only_its_own_message_and_the_rest_stay_queued()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var ws = SidecarWebSocket.Connect(fixture.Server.FloodUri(64, 100), Options(pool));
        Assert.True(SpinWait.SpinUntil(() => ws.PendingReceiveCount == 100, Wait));
        var state = new StrongBox<long>(0);
        Assert.Throws<InvalidOperationException>(() => ws.ReceiveBatch(state, static (seen, _, _) =>
        {
            if (++seen.Value == 3)
            {
                throw new InvalidOperationException("handler failed");
            }
        }, 100, Wait));
        Assert.Equal(97, ws.PendingReceiveCount);
        using (ReceivedMessage next = ws.Receive(Wait))
        {
            Assert.Equal(3, BinaryPrimitives.ReadInt64LittleEndian(next.Span));
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => ws.ReceiveBatch(state, s_collectLong, 0, Wait));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_batch_after_the_peer_closed_and_the_queue_drained_throws_the_close()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        using var server = new ScriptedServer(
            ScriptStep.ReadHandshakeRequest(),
            ScriptStep.SendValidHandshakeResponse(),
            ScriptStep.SendRaw([.. ServerFrames.Text("a"), .. ServerFrames.Text("b"), .. ServerFrames.Close(1000)]),
            ScriptStep.ExpectClose(1000),
            ScriptStep.CloseTcp());
        var ws = SidecarWebSocket.Connect(server.Uri, Options(pool));
        var collected = new Collected();
        while (collected.Messages.Count < 2)
        {
            ws.ReceiveBatch(collected, s_collect, 100, Wait);
        }

        Assert.ThrowsAny<SidecarWebSocketException>(() => ws.ReceiveBatch(collected, s_collect, 100, Wait));
        ws.Exit();
        Assert.Equal(0, pool.Outstanding);
    }
}
