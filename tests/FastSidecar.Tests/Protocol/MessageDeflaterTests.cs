using System.IO.Compression;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol.Deflate;

namespace FastSidecar.Tests.Protocol;

/// <summary>RFC 7692 §7.2.1 on the sending side, checked with the BCL's inflater (and ours for small windows).</summary>
public sealed class MessageDeflaterTests : IDisposable
{
    private readonly SidecarBufferPool _pool = new();
    private readonly MessageDeflater _deflater = new();

    public void Dispose()
    {
        _deflater.Dispose();
        Assert.Equal(0, _pool.Outstanding);
    }

    private static byte[] Ticks(int length, int seed)
    {
        var text = new StringBuilder();
        for (int i = seed; text.Length < length; i++)
        {
            text.Append("{\"sym\":\"BTC-USD\",\"px\":").Append(60_000 + (i % 113)).Append(",\"qty\":").Append(i % 7).Append("},");
        }

        return Encoding.UTF8.GetBytes(text.ToString(0, length));
    }

    /// <summary>Inflates a sequence of compressed messages with one BCL inflater, the tail put back after each.</summary>
    private static List<byte[]> BclInflate(IEnumerable<byte[]> messages, bool freshPerMessage)
    {
        var result = new List<byte[]>();
        var input = new MemoryStream();
        var inflate = new DeflateStream(input, CompressionMode.Decompress);
        foreach (byte[] compressed in messages)
        {
            if (freshPerMessage)
            {
                inflate.Dispose();
                input = new MemoryStream();
                inflate = new DeflateStream(input, CompressionMode.Decompress);
            }

            long at = input.Position;
            input.Write(compressed);
            input.Write(PerMessageDeflate.Tail);
            input.Position = at;
            var output = new MemoryStream();
            byte[] chunk = new byte[4096];
            int n;
            while ((n = inflate.Read(chunk)) > 0)
            {
                output.Write(chunk, 0, n);
            }

            result.Add(output.ToArray());
        }

        inflate.Dispose();
        return result;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Messages_inflate_with_the_BCL_under_the_chosen_context_rule(bool contextTakeover)
    {
        _deflater.Start(15, contextTakeover, _pool);
        byte[][] messages = [.. Enumerable.Range(0, 50).Select(i => Ticks(10 + (i * 997 % 70_000), i))];
        List<byte[]> compressed = [.. messages.Select(m => _deflater.Compress(m).ToArray())];
        Assert.Equal(messages, BclInflate(compressed, freshPerMessage: !contextTakeover));
        _deflater.Stop();
    }

    [Fact]
    public void Context_takeover_makes_a_repeated_message_smaller_and_no_takeover_does_not()
    {
        byte[] message = Ticks(2000, 1);
        _deflater.Start(15, contextTakeover: true, _pool);
        int first = _deflater.Compress(message).Length;
        int repeated = _deflater.Compress(message).Length;
        _deflater.Stop();
        _deflater.Start(15, contextTakeover: false, _pool);
        int fresh1 = _deflater.Compress(message).Length;
        int fresh2 = _deflater.Compress(message).Length;
        _deflater.Stop();
        Assert.True(repeated < first / 4, $"{repeated} vs {first}");
        Assert.Equal(fresh1, fresh2);
    }

    [Fact]
    public void Tail_is_removed_and_an_empty_message_is_a_single_zero_octet()
    {
        _deflater.Start(15, contextTakeover: true, _pool);
        Assert.Equal([0x00], _deflater.Compress([]).ToArray());
        _deflater.Stop();
    }

    [Fact]
    public void Incompressible_messages_up_to_1_MiB_round_trip()
    {
        _deflater.Start(15, contextTakeover: true, _pool);
        var random = new Random(7692);
        byte[][] messages = [.. new[] { 1, 1000, 70_000, 1 << 20 }.Select(n => { byte[] b = new byte[n]; random.NextBytes(b); return b; })];
        List<byte[]> compressed = [.. messages.Select(m => _deflater.Compress(m).ToArray())];
        Assert.Equal(messages, BclInflate(compressed, freshPerMessage: false));
        _deflater.Stop();
    }

    [Theory]
    [InlineData(9)]
    [InlineData(12)]
    public void A_small_window_produces_a_stream_that_inflater_of_that_window_accepts(int bits)
    {
        _deflater.Start(bits, contextTakeover: true, _pool);
        using var inflater = new MessageInflater();
        inflater.Start(bits, contextTakeover: true);
        for (int i = 0; i < 20; i++)
        {
            byte[] message = Ticks(5000 + (i * 313), i);
            ReadOnlySpan<byte> input = [.. _deflater.Compress(message), .. PerMessageDeflate.Tail];
            byte[] output = new byte[message.Length + 16];
            int written = inflater.Inflate(ref input, output);
            Assert.Equal(message, output[..written]);
        }

        _deflater.Stop();
    }

    [Fact]
    public void Compressing_in_steady_state_allocates_nothing()
    {
        _deflater.Start(15, contextTakeover: true, _pool);
        byte[][] messages = [.. Enumerable.Range(0, 64).Select(i => Ticks(100 + (i * 31), i))];
        foreach (byte[] m in messages)
        {
            _deflater.Compress(m);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 10; round++)
        {
            foreach (byte[] m in messages)
            {
                _deflater.Compress(m);
            }
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        _deflater.Stop();
    }
}
