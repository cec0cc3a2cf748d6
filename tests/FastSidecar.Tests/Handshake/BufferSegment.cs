using System.Buffers;

namespace FastSidecar.Tests.Handshake;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s so parsers meet every split a socket can produce.</summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory) => Memory = memory;

    private BufferSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new BufferSegment(memory) { RunningIndex = RunningIndex + Memory.Length };
        Next = next;
        return next;
    }

    /// <summary>One segment per part; each part is copied so a parser cannot read past its own segment by accident.</summary>
    public static ReadOnlySequence<byte> Sequence(params byte[][] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new BufferSegment(parts[0].ToArray());
        BufferSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            last = last.Append(parts[i].ToArray());
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Two segments, split at <paramref name="at"/>.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] data, int at) => Sequence(data[..at], data[at..]);

    /// <summary>One segment per byte.</summary>
    public static ReadOnlySequence<byte> ByteByByte(byte[] data) => Sequence(data.Select(b => new[] { b }).ToArray());
}
