using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace FastSidecar.Transport;

/// <summary>
/// TLS on the loop: <see cref="SslStream"/> over a <see cref="LoopStream"/>, pumped by the same readiness calls as
/// <see cref="SocketTransport"/>, so the session sees plaintext pipes and never knows TLS is there.
/// </summary>
/// <remarks>
/// <para>
/// The pump: one plaintext read on the SslStream is always outstanding, into a buffer the transport rents
/// for its lifetime (a pending read outlives the call that started it, and pipe memory cannot be held across a
/// flush); completed reads are copied into the input pipe. When the
/// socket is readable, <see cref="ReceiveAvailable"/> lets the LoopStream finish SslStream's pending ciphertext read;
/// SslStream decrypts inline, and the outstanding read is then either complete (its bytes are advanced into the pipe
/// and the next read starts) or still waiting for the rest of a record. Between records SslStream waits with a
/// zero-byte read, which the LoopStream answers at once only while the last receive filled its buffer: after a short
/// receive the socket is empty, so a message costs one <c>recv</c>, not one more for the wait and one for the EAGAIN. Writes go the other way: each segment of the
/// output pipe is one <see cref="SslStream.WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/> (one TLS record of
/// up to 16 KiB), which completes at once when the socket takes the ciphertext, or waits for writability. Nothing
/// here awaits: the transport only looks at whether SslStream's operations have completed, so every continuation
/// runs inside a loop callback, and the thread pool is never needed.
/// </para>
/// <para>
/// The TLS handshake starts with the first push after the TCP connect. Until it completes, plaintext written by the
/// session (the HTTP upgrade request) waits in the output pipe and does not count as pending output (there is
/// nothing for the socket to take until the server answers); when it completes, inside a receive, the request goes out
/// at once. A failed handshake is kept as a typed <see cref="Fault"/>.
/// </para>
/// <para>Loop thread only. Owns the socket, the SslStream, the LoopStream and both pipes.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA2012", Justification = "Each stored ValueTask is consumed exactly once: polled with IsCompleted, then GetResult (or observed at dispose).")]
internal sealed class TlsTransport : ITransport
{
    private const int ReceiveChunkSize = 16 * 1024;

    // Plaintext taken per readiness event before the session parses it, as SocketTransport's budget: the application
    // thread starts on the first messages of a flood while the loop decrypts the rest, instead of waiting for the
    // whole socket buffer, and one flooding peer cannot keep the loop from its other work.
    private const int ReceiveBudget = 64 * 1024;

    private readonly Pipe _inbound;
    private readonly Pipe _outbound;
    private readonly LoopStream _raw;
    private readonly SslStream _ssl;
    private readonly TlsCertificateCheck _check;
    private readonly string _host;

    // Where SslStream decrypts to; rented from the connection's pool for the transport's lifetime.
    private readonly IMemoryOwner<byte> _plaintext;

    private Task? _handshake;
    private bool _established;

    // The outstanding plaintext read (into the input pipe's memory) and the write of one output segment.
    private ValueTask<int> _read;
    private bool _reading;
    private ValueTask _write;
    private bool _writing;
    private long _writeLength;

    private long _unsentBytes;
    private bool _endOfStream;
    private bool _disposed;

    public TlsTransport(Socket socket, MemoryPool<byte> pool, TlsCertificateCheck check, string host)
    {
        Socket = socket;
        var options = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline,
            pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: ReceiveChunkSize, useSynchronizationContext: false);
        _inbound = new Pipe(options);
        _outbound = new Pipe(options);
        _raw = new LoopStream(socket);
        _ssl = new SslStream(_raw, leaveInnerStreamOpen: false);
        _check = check;
        _host = host;
        _plaintext = pool.Rent(ReceiveChunkSize);
    }

    public Socket Socket { get; }

    public PipeReader Input => _inbound.Reader;

    public PipeWriter Output => _outbound.Writer;

    public bool HasPendingOutput =>
        _raw.HasPendingWrite || (_established && (_outbound.Writer.UnflushedBytes > 0 || _unsentBytes > 0));

    public SocketError LastError { get; private set; }

    /// <summary>The typed failure behind the last <see cref="TransportStatus.Failed"/>, when TLS knows more than the socket error.</summary>
    public SidecarWebSocketException? Fault { get; private set; }

    /// <summary>The error for a connect deadline that passed while the TLS handshake was still running, or null once it is done.</summary>
    public SidecarWebSocketException? DescribeStall() =>
        _established
            ? null
            : new WebSocketTlsException($"The TLS handshake with {_host} did not complete before the connect deadline.", TlsFailure.HandshakeTimedOut);

    public TransportStatus ReceiveAvailable()
    {
        using var scope = InlineContinuationScope.Enter();
        return PumpReceiveAvailable();
    }

    private TransportStatus PumpReceiveAvailable()
    {
        if (Fault is not null)
        {
            return TransportStatus.Failed;
        }

        if (!_established)
        {
            _raw.OnReadable();
            StartHandshake();
            while (!_handshake!.IsCompleted && _raw.TryCompleteRead())
            {
            }

            if (!CheckHandshake())
            {
                return Fault is not null ? TransportStatus.Failed : TransportStatus.WouldBlock;
            }

            // The upgrade request waited for the handshake; the server will not answer until it has it.
            if (PumpSendBuffered() == TransportStatus.Failed)
            {
                return TransportStatus.Failed;
            }
        }

        if (_endOfStream)
        {
            return TransportStatus.EndOfStream;
        }

        _raw.OnReadable();

        PipeWriter writer = _inbound.Writer;
        int received = 0;
        TransportStatus status = TransportStatus.WouldBlock;
        while (true)
        {
            if (!_reading)
            {
                // Into the transport's own buffer, not the pipe's memory: a read that waits for the rest of a record
                // outlives this call, and the pipe's memory is not ours to hold across the flush below.
                _read = _ssl.ReadAsync(_plaintext.Memory);
                _reading = true;
            }

            // Past the budget, only what SslStream already holds is taken (its reads complete without waiting);
            // once it waits on the socket again, level-triggered readiness brings the loop back for the rest. Below
            // the budget the socket is read until it is empty: LoopStream answers SslStream's zero-byte read only
            // while the last receive filled its buffer, so an empty socket costs no extra receive.
            while (!_read.IsCompleted && received < ReceiveBudget && _raw.TryCompleteRead())
            {
            }

            if (!_read.IsCompleted)
            {
                // The socket is empty (or the budget is spent), and SslStream holds no whole record: wait for readability.
                break;
            }

            _reading = false;
            int count;
            try
            {
                count = _read.GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or AuthenticationException or ObjectDisposedException or InvalidOperationException)
            {
                LastError = _raw.LastError == SocketError.Success ? SocketError.ConnectionReset : _raw.LastError;
                Fault = new WebSocketConnectionException($"Receiving over TLS failed: {e.Message}", e);
                status = TransportStatus.Failed;
                break;
            }

            if (count == 0)
            {
                // The server's close_notify, or its TCP close: either way the end of the plaintext.
                _endOfStream = true;
                status = TransportStatus.EndOfStream;
                break;
            }

            writer.Write(_plaintext.Memory.Span[..count]);
            received += count;
        }

        if (received > 0)
        {
            PipeFlush.CompleteSynchronously(writer.FlushAsync());
        }

        return status;
    }

    public TransportStatus SendBuffered()
    {
        using var scope = InlineContinuationScope.Enter();
        return PumpSendBuffered();
    }

    private TransportStatus PumpSendBuffered()
    {
        if (Fault is not null)
        {
            return TransportStatus.Failed;
        }

        if (!_established)
        {
            StartHandshake();
            _raw.TryCompleteWrite();
            if (!CheckHandshake())
            {
                // Plaintext waits for the handshake; only ciphertext the socket refused asks for writability.
                return Fault is not null ? TransportStatus.Failed : _raw.HasPendingWrite ? TransportStatus.WouldBlock : TransportStatus.Done;
            }
        }

        PipeWriter writer = _outbound.Writer;
        if (writer.UnflushedBytes > 0)
        {
            _unsentBytes += writer.UnflushedBytes;
            PipeFlush.CompleteSynchronously(writer.FlushAsync());
        }

        PipeReader reader = _outbound.Reader;
        while (true)
        {
            if (_writing)
            {
                while (!_write.IsCompleted && _raw.TryCompleteWrite())
                {
                }

                if (!_write.IsCompleted)
                {
                    return TransportStatus.WouldBlock;
                }

                _writing = false;
                try
                {
                    _write.GetAwaiter().GetResult();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    LastError = _raw.LastError == SocketError.Success ? SocketError.ConnectionReset : _raw.LastError;
                    Fault = new WebSocketConnectionException($"Sending over TLS failed: {e.Message}", e);
                    return TransportStatus.Failed;
                }

                // The segment is encrypted and on the socket: its plaintext may go back to the pool now.
                if (reader.TryRead(out ReadResult done))
                {
                    reader.AdvanceTo(done.Buffer.GetPosition(_writeLength));
                }

                _unsentBytes -= _writeLength;
                _writeLength = 0;
            }

            if (!reader.TryRead(out ReadResult result))
            {
                return TransportStatus.Done;
            }

            if (result.Buffer.IsEmpty)
            {
                reader.AdvanceTo(result.Buffer.Start);
                return TransportStatus.Done;
            }

            // One segment per TLS record: SslStream encrypts it into its own buffer before the first byte is sent.
            ReadOnlyMemory<byte> segment = result.Buffer.First;
            reader.AdvanceTo(result.Buffer.Start);
            _writeLength = segment.Length;
            _write = _ssl.WriteAsync(segment);
            _writing = true;
        }
    }

    public void ShutdownSend()
    {
        using (InlineContinuationScope.Enter())
        {
            SendCloseNotify();
        }

        SocketEnding.ShutdownSend(Socket);
    }

    public void Close(bool abortive)
    {
        if (!abortive)
        {
            using var scope = InlineContinuationScope.Enter();
            SendCloseNotify();
        }

        SocketEnding.Close(Socket, abortive);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using var scope = InlineContinuationScope.Enter();
        Socket.Dispose();
        // Disposing the SslStream disposes the LoopStream, which fails whatever SslStream still waits on: its pending
        // read, write and handshake run to their end now (they own rented buffers until they do).
        _ssl.Dispose();
        AbandonedOperations.Observe(_handshake);
        if (_reading)
        {
            _reading = false;
            AbandonedOperations.ObserveRead(_read);
        }

        if (_writing)
        {
            _writing = false;
            AbandonedOperations.ObserveWrite(_write);
        }

        _inbound.Writer.Complete();
        _inbound.Reader.Complete();
        _outbound.Writer.Complete();
        _outbound.Reader.Complete();
        _unsentBytes = 0;
        // Last: whatever SslStream still had pending has failed above and no longer writes into it.
        _plaintext.Dispose();
    }

    private void StartHandshake()
    {
        _handshake ??= _ssl.AuthenticateAsClientAsync(_check.Options, CancellationToken.None);
    }

    /// <summary>True once the handshake succeeded; sets <see cref="Fault"/> when it failed.</summary>
    private bool CheckHandshake()
    {
        Debug.Assert(_handshake is not null);
        if (!_handshake.IsCompleted)
        {
            return false;
        }

        if (_handshake.IsCompletedSuccessfully)
        {
            _established = true;
            return true;
        }

        Exception error = _handshake.Exception!.InnerException ?? _handshake.Exception;
        LastError = _raw.LastError == SocketError.Success ? SocketError.ConnectionAborted : _raw.LastError;
        Fault = Classify(error);
        return false;
    }

    private WebSocketTlsException Classify(Exception error)
    {
        if (_check.Rejected)
        {
            TlsFailure failure = _check.Classify();
            return new WebSocketTlsException(
                $"The TLS certificate of {_host} was rejected ({failure}): {_check.PolicyErrors}, chain status {_check.ChainStatus}.",
                failure, _check.PolicyErrors, _check.ChainStatus, error);
        }

        if (_raw.LastError != SocketError.Success || _raw.SawEndOfStream)
        {
            string how = _raw.LastError != SocketError.Success ? _raw.LastError.ToString() : "closed";
            return new WebSocketTlsException($"The server {_host} {how} the connection during the TLS handshake.", TlsFailure.ConnectionReset,
                innerException: error);
        }

        return new WebSocketTlsException($"The TLS handshake with {_host} failed: {error.Message}", TlsFailure.HandshakeFailed, innerException: error);
    }

    private void SendCloseNotify()
    {
        if (!_established || Fault is not null || _disposed || _raw.HasPendingWrite)
        {
            return;
        }

        try
        {
            // The alert is one small record: the socket takes it at once, or the close goes ahead without it
            // (waiting for writability here would stretch Exit's deadlines).
            AbandonedOperations.Observe(_ssl.ShutdownAsync());
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
        }
    }
}
