using System.Buffers;

namespace FastSidecar.Tests.Protocol;

/// <summary>Builds multi-segment sequences so the parser meets headers and payloads split anywhere.</summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>One segment per part, in order (empty parts are kept: real pipes can produce them too).</summary>
    public static ReadOnlySequence<byte> Sequence(params ReadOnlyMemory<byte>[] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new BufferSegment(parts[0], 0);
        BufferSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            var next = new BufferSegment(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Cuts <paramref name="data"/> at the given ascending positions.</summary>
    public static ReadOnlyMemory<byte>[] Cut(byte[] data, IEnumerable<int> cuts)
    {
        var parts = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        foreach (int cut in cuts)
        {
            parts.Add(data.AsMemory(start, cut - start));
            start = cut;
        }

        parts.Add(data.AsMemory(start));
        return [.. parts];
    }
}
