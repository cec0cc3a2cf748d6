using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using FastSidecar.Buffers;
using FastSidecar.Protocol.Deflate;

namespace FastSidecar.Protocol;

/// <summary>
/// Parses the frames of one connection into messages and control events, validating every rule of RFC 6455 that a
/// receiver must enforce. It never writes: pongs to send and closes to echo are the caller's obligations.
/// </summary>
/// <remarks>
/// <para>
/// Validate before allocating: a header is checked in full (reserved bits, opcode, control limits, masking for the
/// role, fragmentation state, message size against the announced length) before any buffer is rented for it, so a
/// hostile length costs nothing.
/// </para>
/// <para>
/// Payload bytes are copied (and unmasked) into the message buffer as soon as they arrive, even mid-frame, and text is
/// validated as it is copied, so the caller can always advance past everything <see cref="Read"/> consumed and an
/// invalid byte fails the connection without waiting for the end of the message. Only a partial header (under 14 bytes)
/// is ever left unconsumed.
/// </para>
/// <para>
/// Buffers: a single-frame message gets a buffer of exactly its announced length from the pool; a fragmented message
/// grows by doubling (the old buffer goes back at once). The finished buffer's ownership passes to the caller in
/// <see cref="InboundMessage"/>. A partial message still owned here is returned by <see cref="Dispose"/>.
/// </para>
/// <para>Thread-safety: none. One reader per connection, used by the loop thread only.</para>
/// </remarks>
internal sealed partial class FrameReader : IDisposable
{
    internal const int MaxControlPayload = 125;

    private readonly WebSocketRole _role;
    private readonly int _maxMessageSize;
    private readonly SidecarBufferPool _pool;

    // The frame whose payload is being consumed. Separate from the message state because a control frame may sit
    // between two fragments of a data message.
    private bool _inFrame;
    private Opcode _frameOpcode;
    private bool _frameFin;
    private bool _frameMasked;
    private int _frameMaskKey;
    private int _frameMaskOffset;
    private long _frameRemaining;

    // The data message being assembled; _messageBuffer is owned by this reader until the message is handed out,
    // unless the message is laid out in the block writer's current block (from _messageOffset).
    private bool _inMessage;
    private MessageType _messageType;
    private byte[]? _messageBuffer;
    private int _messageOffset;
    private bool _messageInBlock;
    private int _messageLength;

    // Null unless the owner asked for batched receive: then single-frame messages of a burst share blocks.
    private readonly ReceiveBlockWriter? _blocks;
    private Utf8Validator _utf8;

    // Whether the message being assembled began with a non-final frame, and how many such messages have begun: the
    // session bounds how long one may take, and the number tells it apart from the next one (see CurrentFragmentedMessage).
    private bool _messageFragmented;
    private long _fragmentedMessagesBegun;

    // permessage-deflate: the inflater when the extension was negotiated (owned by the session), whether the message
    // being assembled is compressed (RSV1 on its first frame), and its compressed bytes so far.
    private MessageInflater? _inflater;
    private bool _messageCompressed;
    private long _compressedLength;

    // The payload of the control frame being read, and after it completes, of the last control event.
    private readonly byte[] _control = new byte[MaxControlPayload];
    private int _controlLength;
    private bool _closeReceived;
    private bool _disposed;

    /// <param name="role">Our role: a client rejects masked frames, a server rejects unmasked ones.</param>
    /// <param name="maxMessageSize">The largest message accepted, in bytes; larger ones fail with 1009. Capped at <see cref="Array.MaxLength"/>.</param>
    /// <param name="pool">Where message buffers are rented.</param>
    /// <param name="layOutInBlocks">Lay small single-frame messages of one read burst out in shared blocks
    /// (<see cref="InboundMessage.Block"/>); the owner then calls <see cref="EndBurst"/> after each burst.</param>
    public FrameReader(WebSocketRole role, long maxMessageSize, SidecarBufferPool pool, bool layOutInBlocks = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxMessageSize);
        ArgumentNullException.ThrowIfNull(pool);
        _role = role;
        _maxMessageSize = (int)Math.Min(maxMessageSize, Array.MaxLength);
        _pool = pool;
        _blocks = layOutInBlocks ? new ReceiveBlockWriter(pool) : null;
    }

    /// <summary>The caller has parsed what one read burst held: the current block is let go unless a message is still arriving into it.</summary>
    public void EndBurst() => _blocks?.EndBurst();

    /// <summary>
    /// Accepts RSV1 as "compressed" on the first frame of a data message from now on (RFC 7692 §6), inflating such
    /// messages through <paramref name="inflater"/>, whose owner keeps it alive as long as this reader.
    /// </summary>
    public void EnablePerMessageDeflate(MessageInflater inflater)
    {
        ArgumentNullException.ThrowIfNull(inflater);
        _inflater = inflater;
    }

    /// <summary>The payload of the last Ping, Pong or Close; valid until the next <see cref="Read"/>.</summary>
    public ReadOnlySpan<byte> ControlPayload => _control.AsSpan(0, _controlLength);

    /// <summary>
    /// The number (1, 2, ...) of the fragmented message being assembled, or 0 when none is: a message whose first frame
    /// had FIN clear counts from that frame until its final fragment ends. Lets the owner time one message, and see
    /// when the next one begins, without a clock in the parser.
    /// </summary>
    public long CurrentFragmentedMessage => _inMessage && _messageFragmented ? _fragmentedMessagesBegun : 0;

    /// <summary>The status code of the last close frame; 1005 when it had none.</summary>
    public ushort CloseCode { get; private set; } = (ushort)WebSocketCloseCode.Empty;

    /// <summary>The UTF-8 reason of the last close frame (validated); valid until the next <see cref="Read"/>.</summary>
    public ReadOnlySpan<byte> CloseReason => _controlLength > 2 ? _control.AsSpan(2, _controlLength - 2) : [];

    /// <summary>
    /// Consumes bytes from the front of <paramref name="buffer"/> up to the first event.
    /// </summary>
    /// <param name="buffer">Received bytes; on return, sliced past what was consumed.</param>
    /// <param name="message">The message, when the result is <see cref="FrameReadStatus.Message"/>; ownership of its buffer passes to the caller.</param>
    /// <exception cref="WebSocketProtocolException">The peer broke the protocol; the exception carries the close code to send.</exception>
    /// <remarks>
    /// After a close frame the conversation is over (RFC 6455 §5.5.1): further calls consume nothing and return
    /// <see cref="FrameReadStatus.NeedMoreData"/>; whatever bytes follow are the caller's business.
    /// </remarks>
    public FrameReadStatus Read(ref ReadOnlySequence<byte> buffer, out InboundMessage message)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        message = default;
        if (_closeReceived)
        {
            return FrameReadStatus.NeedMoreData;
        }

        while (true)
        {
            if (!_inFrame)
            {
                if (_blocks is not null && !_inMessage && TryReadWholeFrame(ref buffer, out message))
                {
                    return FrameReadStatus.Message;
                }

                if (!TryReadHeader(ref buffer, out FrameHeader header))
                {
                    return FrameReadStatus.NeedMoreData;
                }

                Validate(header);
                BeginFrame(header, buffer.Length);
            }

            if (_frameRemaining > 0)
            {
                ConsumePayload(ref buffer);
                if (_frameRemaining > 0)
                {
                    return FrameReadStatus.NeedMoreData;
                }
            }

            _inFrame = false;
            FrameReadStatus status = EndFrame(out message);
            if (status != FrameReadStatus.NeedMoreData)
            {
                return status;
            }
        }
    }

    /// <summary>Returns a partially assembled message's buffer to the pool.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseMessageBuffer();
        _blocks?.Dispose();
        _inflater = null; // the session returns it to its pool
    }

    private static bool TryReadHeader(ref ReadOnlySequence<byte> buffer, out FrameHeader header)
    {
        int headerLength;
        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= FrameHeader.MaxLength || buffer.IsSingleSegment)
        {
            if (!FrameHeader.TryRead(first, out header, out headerLength))
            {
                return false;
            }
        }
        else
        {
            // The header straddles segments: gather at most 14 bytes on the stack rather than linearising anything.
            Span<byte> gathered = stackalloc byte[FrameHeader.MaxLength];
            int available = (int)Math.Min(buffer.Length, FrameHeader.MaxLength);
            buffer.Slice(0, available).CopyTo(gathered);
            if (!FrameHeader.TryRead(gathered[..available], out header, out headerLength))
            {
                return false;
            }
        }

        buffer = buffer.Slice(headerLength);
        return true;
    }

    private void BeginFrame(in FrameHeader header, long bytesBuffered)
    {
        _inFrame = true;
        _frameOpcode = header.Opcode;
        _frameFin = header.Fin;
        _frameMasked = header.Masked;
        _frameMaskKey = header.MaskKey;
        _frameMaskOffset = 0;
        _frameRemaining = header.PayloadLength;

        // Validate has bounded the length by the message limit (data) or 125 (control), so it fits in an int.
        int length = (int)header.PayloadLength;
        switch (header.Opcode)
        {
            case Opcode.Text or Opcode.Binary:
                Debug.Assert(_messageBuffer is null);
                _inMessage = true;
                _messageType = header.Opcode == Opcode.Text ? MessageType.Text : MessageType.Binary;
                _messageLength = 0;
                _utf8.Reset();
                _messageFragmented = !header.Fin;
                _fragmentedMessagesBegun += _messageFragmented ? 1 : 0;
                _messageCompressed = header.Rsv == Rsv1;
                _compressedLength = 0;
                // A compressed message's size is known only once inflated: start from a guess (text feeds compress to a
                // quarter or better) and grow by doubling. The guess stays small because a full receive queue holds
                // thousands of these buffers, and an oversized size class overflows its pool.
                _messageInBlock = _blocks is not null && header.Fin && !_messageCompressed && ReceiveBlockWriter.Fits(length);
                _messageOffset = 0;
                _messageBuffer = _messageInBlock
                    ? _blocks!.Reserve(length, bytesBuffered, out _messageOffset)
                    : _pool.Rent(_messageCompressed ? (int)Math.Min(_maxMessageSize, Math.Max(256, (long)length * 4)) : length);
                break;
            case Opcode.Continuation:
                if (!_messageCompressed)
                {
                    EnsureMessageCapacity(_messageLength + length);
                }

                break;
            default:
                _controlLength = 0;
                break;
        }
    }

    /// <summary>Grows the message buffer by doubling (bounded by the limit), handing the old one back at once.</summary>
    private void EnsureMessageCapacity(int needed)
    {
        byte[] current = _messageBuffer!;
        if (needed <= current.Length)
        {
            return;
        }

        int size = (int)Math.Min(Math.Max((long)current.Length * 2, needed), _maxMessageSize);
        byte[] grown = _pool.Rent(size);
        current.AsSpan(0, _messageLength).CopyTo(grown);
        _messageBuffer = grown;
        _pool.Return(current);
    }

    private void ConsumePayload(ref ReadOnlySequence<byte> buffer)
    {
        long take = Math.Min(_frameRemaining, buffer.Length);
        if (take == 0)
        {
            return;
        }

        bool data = _frameOpcode is Opcode.Text or Opcode.Binary or Opcode.Continuation;
        if (data && _messageCompressed)
        {
            InflatePayload(ref buffer, take);
            return;
        }

        Span<byte> destination = data
            ? _messageBuffer.AsSpan(_messageOffset + _messageLength, (int)take)
            : _control.AsSpan(_controlLength, (int)take);

        int copied = 0;
        foreach (ReadOnlyMemory<byte> segment in buffer.Slice(0, take))
        {
            ReadOnlySpan<byte> source = segment.Span;
            Span<byte> target = destination.Slice(copied, source.Length);
            if (_frameMasked)
            {
                _frameMaskOffset = Masking.Copy(source, target, _frameMaskKey, _frameMaskOffset);
            }
            else
            {
                source.CopyTo(target);
            }

            copied += source.Length;
        }

        buffer = buffer.Slice(take);
        _frameRemaining -= take;
        if (data)
        {
            _messageLength += (int)take;
            // Validate what just arrived so invalid text fails now, not at the end of a 16 MiB message.
            if (_messageType == MessageType.Text && !_utf8.Append(destination))
            {
                throw InvalidPayload("A text message was not valid UTF-8.");
            }
        }
        else
        {
            _controlLength += (int)take;
        }
    }

    private FrameReadStatus EndFrame(out InboundMessage message)
    {
        message = default;
        switch (_frameOpcode)
        {
            case Opcode.Ping:
                return FrameReadStatus.Ping;
            case Opcode.Pong:
                return FrameReadStatus.Pong;
            case Opcode.Close:
                ReadClosePayload();
                _closeReceived = true;
                return FrameReadStatus.Close;
        }

        if (!_frameFin)
        {
            return FrameReadStatus.NeedMoreData;
        }

        if (_messageCompressed)
        {
            FinishInflating();
        }

        if (_messageType == MessageType.Text && !_utf8.IsComplete)
        {
            throw InvalidPayload("A text message ended inside a UTF-8 sequence.");
        }

        if (_messageInBlock)
        {
            ReceiveBlock block = _blocks!.Commit(_messageLength, out int slot, out int generation);
            message = new InboundMessage(_messageType, block, _messageOffset, _messageLength, slot, generation);
            _messageInBlock = false;
        }
        else
        {
            message = new InboundMessage(_messageType, _messageBuffer!, _messageLength);
        }

        _messageBuffer = null; // ownership passes to the caller
        _messageLength = 0;
        _inMessage = false;
        _messageCompressed = false;
        return FrameReadStatus.Message;
    }

    private void ReadClosePayload()
    {
        if (_controlLength == 0)
        {
            CloseCode = (ushort)WebSocketCloseCode.Empty;
            return;
        }

        Debug.Assert(_controlLength >= 2, "Validate rejects 1-byte close payloads.");
        ushort code = BinaryPrimitives.ReadUInt16BigEndian(_control);
        if (!CloseCodes.IsValidOnWire(code))
        {
            throw ProtocolError($"Close code {code} may not be sent on the wire.");
        }

        var reason = new Utf8Validator();
        if (!reason.Append(_control.AsSpan(2, _controlLength - 2)) || !reason.IsComplete)
        {
            throw InvalidPayload("A close reason was not valid UTF-8.");
        }

        CloseCode = code;
    }

    private void ReleaseMessageBuffer()
    {
        byte[]? buffer = _messageBuffer;
        _messageBuffer = null;
        if (_messageInBlock)
        {
            _messageInBlock = false;
            _blocks!.Abandon(); // the block's array is the writer's, not this message's
        }
        else if (buffer is not null)
        {
            _pool.Return(buffer);
        }
    }
}
