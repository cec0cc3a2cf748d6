using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Codec;

/// <summary>
/// Parsing and writing one binary frame per operation, at the edges of every length encoding. Parsing returns the message
/// buffer to the pool inside the benchmark, so the steady state shows what a real receive loop allocates: nothing.
/// </summary>
[MemoryDiagnoser]
public class FrameCodecBenchmarks
{
    private SidecarBufferPool _pool = null!;
    private FrameReader _clientReader = null!;
    private FrameReader _serverReader = null!;
    private ReadOnlySequence<byte> _serverFrame;
    private ReadOnlySequence<byte> _clientFrame;
    private byte[] _payload = null!;
    private ArrayBufferWriter<byte> _output = null!;

    [Params(0, 125, 126, 65535, 65536, 1 << 20)]
    public int PayloadLength { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _payload = new byte[PayloadLength];
        new Random(1).NextBytes(_payload);
        _pool = new SidecarBufferPool();
        _clientReader = new FrameReader(WebSocketRole.Client, 16 << 20, _pool);
        _serverReader = new FrameReader(WebSocketRole.Server, 16 << 20, _pool);
        _serverFrame = new ReadOnlySequence<byte>(Build(mask: false));
        _clientFrame = new ReadOnlySequence<byte>(Build(mask: true));
        _output = new ArrayBufferWriter<byte>(PayloadLength + FrameHeader.MaxLength);
    }

    private byte[] Build(bool mask)
    {
        var writer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteFrame(writer, Opcode.Binary, fin: true, _payload, mask, maskKey: 0x1234_5678);
        return writer.WrittenSpan.ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _clientReader.Dispose();
        _serverReader.Dispose();
        if (_pool.Outstanding != 0)
        {
            throw new InvalidOperationException($"{_pool.Outstanding} buffers leaked.");
        }
    }

    /// <summary>Client side: an unmasked server frame.</summary>
    [Benchmark]
    public int ParseUnmasked() => Parse(_clientReader, _serverFrame);

    /// <summary>Server side: a masked client frame, unmasked while copying.</summary>
    [Benchmark]
    public int ParseMasked() => Parse(_serverReader, _clientFrame);

    private int Parse(FrameReader reader, ReadOnlySequence<byte> frame)
    {
        ReadOnlySequence<byte> buffer = frame;
        if (reader.Read(ref buffer, out InboundMessage message) != FrameReadStatus.Message)
        {
            throw new InvalidOperationException("The frame did not parse to a message.");
        }

        _pool.Return(message.Buffer);
        return message.Length;
    }

    /// <summary>Client side: a masked frame (the production send path).</summary>
    [Benchmark]
    public int WriteMasked()
    {
        _output.ResetWrittenCount();
        FrameWriter.WriteFrame(_output, Opcode.Binary, fin: true, _payload, mask: true, maskKey: 0x1234_5678);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int WriteUnmasked()
    {
        _output.ResetWrittenCount();
        FrameWriter.WriteFrame(_output, Opcode.Binary, fin: true, _payload, mask: false, maskKey: 0);
        return _output.WrittenCount;
    }
}
