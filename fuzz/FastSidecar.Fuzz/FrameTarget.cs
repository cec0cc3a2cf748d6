#if FRAMES_TARGET
using System.Buffers;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Fuzz;

/// <summary>
/// Feeds arbitrary bytes to <see cref="FrameReader.Read"/> in either role. A <see cref="WebSocketProtocolException"/>
/// is the expected way to refuse; any other exception, a reader that stops making progress, or a pooled buffer not
/// returned is a finding.
/// </summary>
/// <remarks>Compiled only with -p:FramesTarget=true, until the Protocol layer's FrameReader is merged.</remarks>
internal static class FrameTarget
{
    private const long MaxMessageSize = 1 << 16;
    private static readonly SidecarBufferPool s_pool = new();

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        byte control = input[0];
        WebSocketRole role = (control & 0x80) != 0 ? WebSocketRole.Server : WebSocketRole.Client;
        ReadOnlySequence<byte> buffer = FuzzSegment.Split(control, input[1..].ToArray());
        long outstandingBefore = s_pool.Outstanding;

        using (var reader = new FrameReader(role, MaxMessageSize, s_pool))
        {
            try
            {
                while (true)
                {
                    long before = buffer.Length;
                    FrameReadStatus status = reader.Read(ref buffer, out InboundMessage message);
                    if (status == FrameReadStatus.Message)
                    {
                        if (message.Length > MaxMessageSize || message.Length > message.Buffer.Length)
                        {
                            throw new InvalidOperationException($"Message of {message.Length} bytes breaks the limit or its buffer.");
                        }

                        s_pool.Return(message.Buffer);
                    }
                    else if (status == FrameReadStatus.Close)
                    {
                        _ = reader.CloseCode;
                        _ = reader.CloseReason.Length;
                        break;
                    }
                    else if (status == FrameReadStatus.NeedMoreData)
                    {
                        break;
                    }
                    else if (reader.ControlPayload.Length > 125)
                    {
                        throw new InvalidOperationException("Control payload longer than 125 bytes.");
                    }

                    if (buffer.Length == before && status != FrameReadStatus.Message)
                    {
                        throw new InvalidOperationException($"Read returned {status} without consuming a byte.");
                    }
                }
            }
            catch (WebSocketProtocolException)
            {
                // The reader refused the input; that is its job.
            }
        }

        if (s_pool.Outstanding != outstandingBefore)
        {
            throw new InvalidOperationException("FrameReader did not return every pooled buffer.");
        }
    }
}
#endif
