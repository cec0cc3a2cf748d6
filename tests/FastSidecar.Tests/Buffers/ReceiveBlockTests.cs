using System.Buffers;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Buffers;

/// <summary>
/// Blocks of one read burst: the array goes back exactly once, after the seal and the last release, whatever the order,
/// the thread, or how often a message is released.
/// </summary>
public sealed class ReceiveBlockTests
{
    private static (ReceiveBlock Block, List<(int Slot, int Generation)> Messages) Fill(ReceiveBlockWriter writer, int count, int length)
    {
        var messages = new List<(int, int)>();
        ReceiveBlock? block = null;
        for (int i = 0; i < count; i++)
        {
            writer.Reserve(length, count * length, out _);
            ReceiveBlock issued = writer.Commit(length, out int slot, out int generation);
            Assert.True(block is null || ReferenceEquals(block, issued), "one burst that fits one block uses one block");
            block = issued;
            messages.Add((slot, generation));
        }

        return (block!, messages);
    }

    [Fact]
    public void The_array_returns_only_after_the_seal_and_the_last_release()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        (ReceiveBlock block, List<(int Slot, int Generation)> messages) = Fill(writer, 10, 64);
        Assert.Equal(1, pool.Outstanding);

        foreach ((int slot, int generation) in messages)
        {
            Assert.True(block.Release(slot, generation));
        }

        Assert.Equal(1, pool.Outstanding); // every message released, but the writer still holds the block
        writer.EndBurst();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Releases_in_any_order_and_twice_release_each_message_once()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        (ReceiveBlock block, List<(int Slot, int Generation)> messages) = Fill(writer, 100, 64);
        writer.EndBurst();
        var order = messages.OrderBy(_ => Random.Shared.Next()).ToList();
        for (int i = 0; i < order.Count; i++)
        {
            Assert.True(block.Release(order[i].Slot, order[i].Generation));
            Assert.False(block.Release(order[i].Slot, order[i].Generation), "a second release must do nothing");
            Assert.Equal(i == order.Count - 1 ? 0 : 1, pool.Outstanding);
        }
    }

    [Fact]
    public void Concurrent_releases_from_several_threads_return_the_array_exactly_once()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        for (int round = 0; round < 50; round++)
        {
            var writer = new ReceiveBlockWriter(pool);
            (ReceiveBlock block, List<(int Slot, int Generation)> messages) = Fill(writer, ReceiveBlock.MaxMessages, 16);
            int successes = 0;
            using var start = new Barrier(4);
            Thread[] threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                start.SignalAndWait();
                // Every thread tries every message, from a different starting point: each must be released once.
                for (int i = 0; i < messages.Count; i++)
                {
                    (int slot, int generation) = messages[(i + t * 257) % messages.Count];
                    if (block.Release(slot, generation))
                    {
                        Interlocked.Increment(ref successes);
                    }
                }
            })).ToArray();
            foreach (Thread thread in threads)
            {
                thread.Start();
            }

            writer.EndBurst(); // the seal races the releases
            foreach (Thread thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
            }

            Assert.Equal(messages.Count, successes);
            Assert.Equal(0, pool.Outstanding);
        }
    }

    [Fact]
    public void A_message_still_arriving_keeps_the_block_past_the_end_of_a_burst()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        byte[] reserved = writer.Reserve(100, 50, out int offset);
        Assert.Equal(0, offset);
        writer.EndBurst(); // the frame continues in the next burst
        Assert.Equal(1, pool.Outstanding);
        ReceiveBlock block = writer.Commit(100, out int slot, out int generation);
        Assert.Same(reserved, block.Array);
        writer.EndBurst();
        Assert.Equal(1, pool.Outstanding); // sealed, but the message is still out
        Assert.True(block.Release(slot, generation));
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void An_abandoned_reservation_costs_nothing_once_the_writer_is_disposed()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        writer.Reserve(100, 4096, out _);
        writer.Abandon();
        writer.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void A_full_block_is_sealed_and_the_next_message_starts_a_new_one()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        var writer = new ReceiveBlockWriter(pool);
        var issued = new List<(ReceiveBlock Block, int Slot, int Generation)>();
        for (int i = 0; i < ReceiveBlock.MaxMessages + 1; i++)
        {
            writer.Reserve(16, 1 << 20, out _);
            ReceiveBlock block = writer.Commit(16, out int slot, out int generation);
            issued.Add((block, slot, generation));
        }

        Assert.NotSame(issued[0].Block, issued[^1].Block);
        Assert.Equal(0, issued[^1].Slot);
        Assert.Equal(2, pool.Outstanding);
        foreach ((ReceiveBlock block, int slot, int generation) in issued.Take(ReceiveBlock.MaxMessages))
        {
            block.Release(slot, generation);
        }

        Assert.Equal(1, pool.Outstanding); // the first block was sealed when it filled up
        writer.Dispose();
        issued[^1].Block.Release(issued[^1].Slot, issued[^1].Generation);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void The_reader_lays_out_small_single_frame_messages_in_one_block_and_gives_the_others_their_own_array()
    {
        var pool = new SidecarBufferPool(trackRentals: true);
        using var reader = new FrameReader(WebSocketRole.Client, 1 << 20, pool, layOutInBlocks: true);
        byte[] large = new byte[20 * 1024];
        new Random(5).NextBytes(large);
        byte[] wire =
        [
            .. Frame(0x1, "one"u8, fin: true),
            .. Frame(0x2, [1, 2, 3], fin: true),
            .. Frame(0x1, "frag"u8, fin: false),
            .. Frame(0x9, "p"u8, fin: true),
            .. Frame(0x0, "mented"u8, fin: true),
            .. Frame(0x2, [], fin: true),
            .. Frame(0x2, large, fin: true),
            .. Frame(0x1, "two"u8, fin: true),
        ];
        var buffer = new ReadOnlySequence<byte>(wire);
        var messages = new List<InboundMessage>();
        while (true)
        {
            FrameReadStatus status = reader.Read(ref buffer, out InboundMessage message);
            if (status == FrameReadStatus.NeedMoreData)
            {
                break;
            }

            if (status == FrameReadStatus.Message)
            {
                messages.Add(message);
            }
        }

        reader.EndBurst();
        Assert.Equal(["one", "\u0001\u0002\u0003", "fragmented", "", "large", "two"],
            messages.Select(m => m.Length == large.Length ? "large" : System.Text.Encoding.UTF8.GetString(m.Span)));
        Assert.True(messages[5].Span.SequenceEqual("two"u8));
        Assert.True(messages[4].Span.SequenceEqual(large));
        Assert.NotNull(messages[0].Block);
        Assert.Same(messages[0].Block, messages[1].Block);
        Assert.Same(messages[0].Block, messages[5].Block);
        Assert.Null(messages[2].Block); // fragmented: its size is unknown when it begins
        Assert.Null(messages[3].Block); // empty: nothing to lay out
        Assert.Null(messages[4].Block); // larger than a block message
        foreach (InboundMessage message in messages)
        {
            message.Release(pool);
        }

        Assert.Equal(0, pool.Outstanding);
    }

    private static byte[] Frame(byte opcode, ReadOnlySpan<byte> payload, bool fin)
    {
        var header = new FrameHeader(fin, 0, (Opcode)opcode, masked: false, 0, payload.Length);
        byte[] frame = new byte[FrameHeader.MaxLength + payload.Length];
        int headerLength = header.Write(frame);
        payload.CopyTo(frame.AsSpan(headerLength));
        return frame[..(headerLength + payload.Length)];
    }
}
