using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

public class MaskingTests
{
    private static void Oracle(Span<byte> data, int maskKey, int maskOffset)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] ^= (byte)(maskKey >> (((maskOffset + i) & 3) * 8));
        }
    }

    [Fact]
    public void Apply_matches_the_scalar_oracle_for_every_length_offset_and_alignment()
    {
        var random = new Random(6455);
        byte[] backing = new byte[300 + 64];
        for (int length = 0; length <= 300; length++)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                int alignment = random.Next(64);
                int key = random.Next(int.MinValue, int.MaxValue);
                random.NextBytes(backing);
                byte[] expected = backing.AsSpan(alignment, length).ToArray();
                Oracle(expected, key, offset);

                int next = Masking.Apply(backing.AsSpan(alignment, length), key, offset);
                Assert.Equal((offset + length) & 3, next);
                Assert.True(expected.AsSpan().SequenceEqual(backing.AsSpan(alignment, length)), $"length {length}, offset {offset}, alignment {alignment}");
            }
        }
    }

    [Fact]
    public void Copy_matches_the_oracle_and_leaves_the_source_alone()
    {
        var random = new Random(17);
        for (int length = 0; length <= 300; length++)
        {
            for (int offset = 0; offset < 4; offset++)
            {
                int key = random.Next(int.MinValue, int.MaxValue);
                byte[] source = new byte[length + 7];
                random.NextBytes(source);
                byte[] original = (byte[])source.Clone();
                byte[] destination = new byte[length + 13];
                int srcAt = random.Next(8);
                int dstAt = random.Next(14);
                srcAt = Math.Min(srcAt, 7);
                dstAt = Math.Min(dstAt, 13);

                byte[] expected = source.AsSpan(srcAt, length).ToArray();
                Oracle(expected, key, offset);
                int next = Masking.Copy(source.AsSpan(srcAt, length), destination.AsSpan(dstAt, length), key, offset);

                Assert.Equal((offset + length) & 3, next);
                Assert.Equal(expected, destination.AsSpan(dstAt, length).ToArray());
                Assert.Equal(original, source);
            }
        }
    }

    [Fact]
    public void Sixty_four_KiB_matches_the_oracle_and_masking_twice_restores_the_data()
    {
        var random = new Random(42);
        byte[] data = new byte[64 * 1024];
        random.NextBytes(data);
        byte[] original = (byte[])data.Clone();
        byte[] expected = (byte[])data.Clone();
        int key = random.Next();
        Oracle(expected, key, 1);

        Masking.Apply(data, key, 1);
        Assert.Equal(expected, data);
        Masking.Apply(data, key, 1);
        Assert.Equal(original, data);
    }

    [Fact]
    public void Masking_in_pieces_with_the_returned_offset_equals_masking_at_once()
    {
        var random = new Random(7);
        byte[] data = new byte[5000];
        random.NextBytes(data);
        int key = random.Next();
        byte[] whole = (byte[])data.Clone();
        Masking.Apply(whole, key, 0);

        byte[] pieces = (byte[])data.Clone();
        int at = 0;
        int offset = 0;
        while (at < pieces.Length)
        {
            int take = Math.Min(random.Next(0, 150), pieces.Length - at);
            offset = Masking.Apply(pieces.AsSpan(at, take), key, offset);
            at += take;
        }

        Assert.Equal(whole, pieces);
    }

    [Fact]
    public void Copy_into_a_short_destination_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Masking.Copy(new byte[10], new byte[9], 1, 0));
    }
}
