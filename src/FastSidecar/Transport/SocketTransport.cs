using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace FastSidecar.Transport;

/// <summary>
/// A non-blocking TCP socket and two pipes: the loop pulls bytes into <see cref="Input"/> when the socket is
/// readable and pushes <see cref="Output"/> when it has something to send, coalescing every frame written since
/// the last push into as few <c>send</c> calls as the segments allow.
/// </summary>
/// <remarks>
/// Loop thread only. The pipes use the inline scheduler and never pause their writers: the loop is the only
/// reader and writer of both, and bounds them itself (the receive budget per readiness event, and the send
/// queue's capacity). Their segments come from the connection's counting pool, so a test sees any segment that
/// is not returned.
/// </remarks>
internal sealed class SocketTransport : ITransport
{
    // Big enough that one read takes a burst of small frames, small enough to keep the working set in L2.
    private const int ReceiveChunkSize = 16 * 1024;

    // Bytes taken per readiness event before going back to the loop, so one flooding peer cannot starve the
    // loop's other work; level-triggered readiness brings us back for the rest.
    private const int ReceiveBudget = 256 * 1024;

    private readonly Pipe _inbound;
    private readonly Pipe _outbound;
    private long _unsentBytes;
    private bool _disposed;

    public SocketTransport(Socket socket, MemoryPool<byte> pool)
    {
        Socket = socket;
        var options = new PipeOptions(pool, PipeScheduler.Inline, PipeScheduler.Inline,
            pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: ReceiveChunkSize, useSynchronizationContext: false);
        _inbound = new Pipe(options);
        _outbound = new Pipe(options);
    }

    public Socket Socket { get; }

    public PipeReader Input => _inbound.Reader;

    public PipeWriter Output => _outbound.Writer;

    public bool HasPendingOutput => _outbound.Writer.UnflushedBytes > 0 || _unsentBytes > 0;

    public SocketError LastError { get; private set; }

    public SidecarWebSocketException? Fault => null;

    public SidecarWebSocketException? DescribeStall() => null;

    public TransportStatus ReceiveAvailable()
    {
        PipeWriter writer = _inbound.Writer;
        int received = 0;
        TransportStatus status = TransportStatus.WouldBlock;
        while (received < ReceiveBudget)
        {
            Memory<byte> memory = writer.GetMemory(ReceiveChunkSize);
            int count = Socket.Receive(memory.Span, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success)
            {
                if (count == 0)
                {
                    status = TransportStatus.EndOfStream;
                    break;
                }

                writer.Advance(count);
                received += count;
                if (count < memory.Length)
                {
                    // A short read means the kernel buffer is (almost surely) empty: skip the extra receive that would
                    // only return EAGAIN. Level-triggered readiness calls us again if more arrived meanwhile.
                    break;
                }

                continue;
            }

            if (error is SocketError.WouldBlock or SocketError.Interrupted)
            {
                break;
            }

            LastError = error;
            status = TransportStatus.Failed;
            break;
        }

        if (received > 0)
        {
            PipeFlush.CompleteSynchronously(writer.FlushAsync());
        }

        return received >= ReceiveBudget ? TransportStatus.Done : status;
    }

    public TransportStatus SendBuffered()
    {
        PipeWriter writer = _outbound.Writer;
        if (writer.UnflushedBytes > 0)
        {
            _unsentBytes += writer.UnflushedBytes;
            PipeFlush.CompleteSynchronously(writer.FlushAsync());
        }

        PipeReader reader = _outbound.Reader;
        if (!reader.TryRead(out ReadResult result))
        {
            return TransportStatus.Done;
        }

        ReadOnlySequence<byte> buffer = result.Buffer;
        long sent = 0;
        TransportStatus status = TransportStatus.Done;
        foreach (ReadOnlyMemory<byte> segment in buffer)
        {
            ReadOnlySpan<byte> remaining = segment.Span;
            while (!remaining.IsEmpty)
            {
                int count = Socket.Send(remaining, SocketFlags.None, out SocketError error);
                if (error == SocketError.Success)
                {
                    remaining = remaining[count..];
                    sent += count;
                    continue;
                }

                if (error is SocketError.WouldBlock or SocketError.Interrupted)
                {
                    status = TransportStatus.WouldBlock;
                }
                else
                {
                    LastError = error;
                    status = TransportStatus.Failed;
                }

                goto Stop;
            }
        }

    Stop:
        reader.AdvanceTo(buffer.GetPosition(sent));
        _unsentBytes -= sent;
        return status;
    }

    public void ShutdownSend() => SocketEnding.ShutdownSend(Socket);

    public void Close(bool abortive) => SocketEnding.Close(Socket, abortive);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Socket.Dispose();
        // Completing both ends of both pipes hands every segment back to the pool.
        _inbound.Writer.Complete();
        _inbound.Reader.Complete();
        _outbound.Writer.Complete();
        _outbound.Reader.Complete();
        _unsentBytes = 0;
    }
}
