using System.Buffers;
using System.Diagnostics;
using FastSidecar.Protocol.Deflate;

namespace FastSidecar.Protocol;

internal sealed partial class FrameReader
{
    /// <summary>RSV1 in <see cref="FrameHeader.Rsv"/>: "this message is compressed" under permessage-deflate.</summary>
    internal const byte Rsv1 = 0b_100;

    // Unmasking scratch for a masked compressed frame (server role): inflate reads from it in pieces of this size.
    private const int UnmaskChunk = 1024;

    /// <summary>
    /// The most compressed bytes one message may carry: DEFLATE's worst case (stored blocks) adds 5 bytes per 64 KiB
    /// to incompressible data, so this bound never refuses an honest message under the limit, and it stops a peer
    /// that sends an endless stream of empty blocks.
    /// </summary>
    private long MaxCompressedLength => _maxMessageSize + ((long)_maxMessageSize >> 6) + 1024;

    /// <summary>Inflates <paramref name="take"/> payload bytes from the front of <paramref name="buffer"/> into the message.</summary>
    private void InflatePayload(ref ReadOnlySequence<byte> buffer, long take)
    {
        Span<byte> unmasked = stackalloc byte[_frameMasked ? UnmaskChunk : 0];
        foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take))
        {
            ReadOnlySpan<byte> source = segment.Span;
            while (!source.IsEmpty)
            {
                scoped ReadOnlySpan<byte> piece = source;
                if (_frameMasked)
                {
                    int n = Math.Min(source.Length, UnmaskChunk);
                    _frameMaskOffset = Masking.Copy(source[..n], unmasked, _frameMaskKey, _frameMaskOffset);
                    piece = unmasked[..n];
                    source = source[n..];
                }
                else
                {
                    source = default;
                }

                InflateInto(piece);
            }
        }

        buffer = buffer.Slice(take);
        _frameRemaining -= take;
        _compressedLength += take;
    }

    /// <summary>Puts back the tail the sender removed and inflates it: the message is complete after this (RFC 7692 §7.2.2).</summary>
    private void FinishInflating()
    {
        MessageInflater inflater = _inflater!;
        if (!inflater.StreamEnded)
        {
            InflateInto(PerMessageDeflate.Tail);
        }

        inflater.EndMessage();
    }

    /// <summary>
    /// Inflates all of <paramref name="input"/> into the message buffer, growing it up to the message limit. Passing
    /// the limit fails at once with 1009: the rest is never inflated, so a decompression bomb costs at most the limit
    /// in memory and the time to inflate that much.
    /// </summary>
    private void InflateInto(ReadOnlySpan<byte> input)
    {
        MessageInflater inflater = _inflater!;
        while (true)
        {
            int capacity = Math.Min(_messageBuffer!.Length, _maxMessageSize);
            if (_messageLength == capacity)
            {
                if (capacity == _maxMessageSize)
                {
                    ProbePastLimit(inflater, input);
                    return;
                }

                EnsureMessageCapacity(capacity + 1);
                capacity = Math.Min(_messageBuffer.Length, _maxMessageSize);
            }

            Span<byte> destination = _messageBuffer.AsSpan(_messageLength, capacity - _messageLength);
            int written = inflater.Inflate(ref input, destination);
            if (written != 0)
            {
                _messageLength += written;
                if (_messageType == MessageType.Text && !_utf8.Append(destination[..written]))
                {
                    throw InvalidPayload("A text message was not valid UTF-8.");
                }
            }

            // Room left over means zlib took all the input and has nothing more to give for now.
            if (written < destination.Length)
            {
                Debug.Assert(input.IsEmpty || inflater.StreamEnded);
                if (!input.IsEmpty)
                {
                    inflater.Inflate(ref input, default); // throws: data after the final block
                }

                return;
            }
        }
    }

    /// <summary>At the limit: one more inflated byte, from this input or from output zlib holds back, is too many.</summary>
    private void ProbePastLimit(MessageInflater inflater, ReadOnlySpan<byte> input)
    {
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            int before = input.Length;
            if (inflater.Inflate(ref input, one) != 0)
            {
                throw TooBig();
            }

            if (input.IsEmpty || input.Length == before)
            {
                return;
            }
        }
    }
}
