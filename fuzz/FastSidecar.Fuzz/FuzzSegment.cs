using System.Buffers;

namespace FastSidecar.Fuzz;

/// <summary>Splits fuzz input into a multi-segment sequence so parsers meet segment boundaries anywhere.</summary>
internal sealed class FuzzSegment : ReadOnlySequenceSegment<byte>
{
    private FuzzSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>
    /// Uses <paramref name="control"/> to pick 1–3 segments and where they split, so the fuzzer can steer both.
    /// </summary>
    public static ReadOnlySequence<byte> Split(byte control, byte[] data)
    {
        int segments = 1 + (control % 3);
        if (segments == 1 || data.Length < 2)
        {
            return new ReadOnlySequence<byte>(data);
        }

        // Cut points as eighths of the input, from the control byte's upper bits.
        int first = data.Length * ((control >> 2) & 7) / 8;
        int second = segments == 3 ? first + ((data.Length - first) * ((control >> 5) & 7) / 8) : data.Length;

        var head = new FuzzSegment(data.AsMemory(0, first), 0);
        var middle = new FuzzSegment(data.AsMemory(first, second - first), first);
        head.Next = middle;
        if (segments == 2)
        {
            return new ReadOnlySequence<byte>(head, 0, middle, middle.Memory.Length);
        }

        var tail = new FuzzSegment(data.AsMemory(second), second);
        middle.Next = tail;
        return new ReadOnlySequence<byte>(head, 0, tail, tail.Memory.Length);
    }

    /// <summary>One segment per part, in order; empty parts are kept, since real pipes produce them too.</summary>
    public static ReadOnlySequence<byte> Sequence(params ReadOnlyMemory<byte>[] parts)
    {
        if (parts.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new FuzzSegment(parts[0], 0);
        FuzzSegment last = first;
        for (int i = 1; i < parts.Length; i++)
        {
            var next = new FuzzSegment(parts[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
