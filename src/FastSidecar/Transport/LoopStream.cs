using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace FastSidecar.Transport;

/// <summary>
/// The ciphertext side of a TLS connection: a <see cref="Stream"/> over a non-blocking socket whose asynchronous
/// reads and writes complete from the loop's readiness events, never from the thread pool.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="NetworkStream"/>: its asynchronous operations complete on the runtime's socket engine and then
/// on the thread pool, so an application that starves the pool would stall the TLS connection, and the loop would
/// have two owners of one socket. Here a read or write first tries the socket at once; when it would block, the
/// operation stays pending until <see cref="TryCompleteRead"/> or <see cref="TryCompleteWrite"/> (called by the
/// transport on readiness) finishes it. The awaiting code (<see cref="System.Net.Security.SslStream"/>, whose awaits
/// use <c>ConfigureAwait(false)</c>) then resumes inline, on the loop thread, inside that call.
/// </para>
/// <para>
/// Loop thread only. At most one read and one write are pending at a time (SslStream serialises each direction).
/// The two completion sources are reused, so an operation that waits allocates nothing.
/// </para>
/// </remarks>
internal sealed class LoopStream : Stream
{
    private readonly Socket _socket;
    private readonly Completion _read = new();
    private readonly Completion _write = new();
    private Memory<byte> _readBuffer;
    private ReadOnlyMemory<byte> _writeRemaining;
    private bool _readPending;
    private bool _writePending;
    private bool _disposed;

    // True once a receive came back short (or would block): the socket has (almost surely) nothing more until the
    // next readiness event, so SslStream's zero-byte "is there more?" read waits for that event instead of being
    // answered with a receive that returns EAGAIN. False after a receive that filled its buffer, and on readiness.
    private bool _drained = true;

    public LoopStream(Socket socket) => _socket = socket;

    /// <summary>True while a write waits for the socket to take the rest of its bytes.</summary>
    public bool HasPendingWrite => _writePending;

    /// <summary>True while a read waits for the socket to have bytes.</summary>
    public bool HasPendingRead => _readPending;

    /// <summary>True while the pending read is SslStream's zero-byte read, which holds no buffer of SslStream's.</summary>
    public bool IsWaitingForData => _readPending && _readBuffer.IsEmpty;

    /// <summary>The socket error that failed the last operation, if one did.</summary>
    public SocketError LastError { get; private set; }

    /// <summary>True once a read saw the peer's TCP close.</summary>
    public bool SawEndOfStream { get; private set; }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_readPending)
        {
            throw new InvalidOperationException("A read is already pending.");
        }

        // A zero-byte read (SslStream waits that way without holding a buffer) asks "tell me when there is data":
        // recv(2) with no room returns 0 at once whether or not data is there, so it always waits for readability.
        SocketError error = SocketError.WouldBlock;
        if (!buffer.IsEmpty)
        {
            int count = Receive(buffer.Span, out error);
            if (error == SocketError.Success)
            {
                return new ValueTask<int>(count);
            }
        }

        if (error != SocketError.WouldBlock)
        {
            return ValueTask.FromException<int>(Failure(error));
        }

        _readBuffer = buffer;
        _readPending = true;
        _read.Core.Reset();
        return new ValueTask<int>(_read, _read.Core.Version);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_writePending)
        {
            throw new InvalidOperationException("A write is already pending.");
        }

        SocketError error = SendSome(ref buffer);
        if (error == SocketError.Success && buffer.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }

        if (error is not SocketError.Success and not SocketError.WouldBlock)
        {
            return ValueTask.FromException(Failure(error));
        }

        _writeRemaining = buffer;
        _writePending = true;
        _write.Core.Reset();
        return new ValueTask(_write, _write.Core.Version);
    }

    /// <summary>Loop thread: the socket was reported readable, so a zero-byte read may complete again.</summary>
    public void OnReadable() => _drained = false;

    /// <summary>
    /// Loop thread, on readability: finishes the pending read if the socket has bytes (or an end or an error). The
    /// reader's continuation runs inside this call. False when there was no pending read, the socket would block, or
    /// the pending read is a zero-byte read and a short receive since the last readiness event said the socket is empty.
    /// </summary>
    public bool TryCompleteRead()
    {
        if (!_readPending || (_drained && _readBuffer.IsEmpty))
        {
            return false;
        }

        SocketError error = SocketError.Success;
        // Readability (or a receive that filled its buffer) means bytes or the end of the stream: a zero-byte read is
        // complete now either way, and SslStream follows it with the real read.
        int count = _readBuffer.IsEmpty ? 0 : Receive(_readBuffer.Span, out error);
        if (error == SocketError.WouldBlock)
        {
            return false;
        }

        _readPending = false;
        _readBuffer = default;
        if (error == SocketError.Success)
        {
            _read.Core.SetResult(count);
        }
        else
        {
            _read.Core.SetException(Failure(error));
        }

        return true;
    }

    /// <summary>
    /// Loop thread, on writability: pushes the rest of the pending write. When the socket took it all (or failed),
    /// the writer's continuation runs inside this call. False when there was no pending write or it is still pending.
    /// </summary>
    public bool TryCompleteWrite()
    {
        if (!_writePending)
        {
            return false;
        }

        SocketError error = SendSome(ref _writeRemaining);
        if (error == SocketError.WouldBlock || (error == SocketError.Success && !_writeRemaining.IsEmpty))
        {
            return false;
        }

        _writePending = false;
        _writeRemaining = default;
        if (error == SocketError.Success)
        {
            _write.Core.SetResult(0);
        }
        else
        {
            _write.Core.SetException(Failure(error));
        }

        return true;
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    // Synchronous I/O would block the loop thread (or fail on the non-blocking socket): SslStream is only ever
    // driven through the asynchronous methods here.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("LoopStream is asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("LoopStream is asynchronous only.");

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>
    /// Fails whatever is pending, so that the state machines awaiting it (SslStream's) run to their end now instead
    /// of hanging on a stream that will never complete them; the socket itself belongs to the transport.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            if (_readPending)
            {
                _readPending = false;
                _readBuffer = default;
                _read.Core.SetException(new ObjectDisposedException(nameof(LoopStream)));
            }

            if (_writePending)
            {
                _writePending = false;
                _writeRemaining = default;
                _write.Core.SetException(new ObjectDisposedException(nameof(LoopStream)));
            }
        }

        base.Dispose(disposing);
    }

    private int Receive(Span<byte> buffer, out SocketError error)
    {
        while (true)
        {
            int count = _socket.Receive(buffer, SocketFlags.None, out error);
            if (error == SocketError.Interrupted)
            {
                continue;
            }

            _drained = error != SocketError.Success || count < buffer.Length;
            if (error == SocketError.Success && count == 0)
            {
                SawEndOfStream = true;
            }

            return count;
        }
    }

    private SocketError SendSome(ref ReadOnlyMemory<byte> remaining)
    {
        while (!remaining.IsEmpty)
        {
            int count = _socket.Send(remaining.Span, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                remaining = remaining[count..];
                continue;
            }

            if (error != SocketError.Interrupted)
            {
                return error;
            }
        }

        return SocketError.Success;
    }

    private IOException Failure(SocketError error)
    {
        LastError = error;
        return new IOException($"The connection failed: {error}.", new SocketException((int)error));
    }

    /// <summary>A reusable completion source; continuations run inline, on the thread that completes it (the loop).</summary>
    private sealed class Completion : IValueTaskSource<int>, IValueTaskSource
    {
        public ManualResetValueTaskSourceCore<int> Core = new() { RunContinuationsAsynchronously = false };

        public int GetResult(short token) => Core.GetResult(token);

        void IValueTaskSource.GetResult(short token) => Core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => Core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            Core.OnCompleted(continuation, state, token, flags);
    }
}
