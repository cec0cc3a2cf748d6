using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Codec;

/// <summary>
/// The loop's share of a receive flood without the socket: one 64 KiB read burst of unmasked server frames parsed
/// into receive blocks (as the client's reader does), each message released, the burst ended. A burst holds 992
/// frames of 64 B or 63 of 1 KiB: divide the time per burst by those for the loop's parse cost per message.
/// </summary>
[MemoryDiagnoser]
public class BurstParseBenchmarks
{
    private const int BurstBytes = 64 * 1024;
    private SidecarBufferPool _pool = null!;
    private FrameReader _reader = null!;
    private ReadOnlySequence<byte> _burst;
    private int _frames;

    [Params(64, 1024)]
    public int PayloadLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new SidecarBufferPool();
        _reader = new FrameReader(WebSocketRole.Client, 16 << 20, _pool, layOutInBlocks: true);
        var writer = new ArrayBufferWriter<byte>(BurstBytes);
        byte[] payload = new byte[PayloadLength];
        while (writer.WrittenCount + PayloadLength + FrameHeader.MaxLength <= BurstBytes)
        {
            FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, payload, mask: false, maskKey: 0);
            _frames++;
        }

        _burst = new ReadOnlySequence<byte>(writer.WrittenSpan.ToArray());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _reader.Dispose();
        if (_pool.Outstanding != 0)
        {
            throw new InvalidOperationException($"{_pool.Outstanding} buffers leaked.");
        }
    }

    /// <summary>One burst of whole frames.</summary>
    [Benchmark]
    public int ParseBurst()
    {
        ReadOnlySequence<byte> buffer = _burst;
        int messages = 0;
        while (_reader.Read(ref buffer, out InboundMessage message) == FrameReadStatus.Message)
        {
            message.Release(_pool);
            messages++;
        }

        _reader.EndBurst();
        if (messages != _frames)
        {
            throw new InvalidOperationException($"{messages} of {_frames} frames parsed.");
        }

        return messages;
    }
}
