using BenchmarkDotNet.Attributes;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Codec;

/// <summary>Masking 64 KiB against a plain copy of the same bytes: the design asks for at least half of memcpy's bandwidth.</summary>
[MemoryDiagnoser]
public class MaskingBenchmarks
{
    private const int Length = 64 * 1024;
    private readonly byte[] _source = new byte[Length];
    private readonly byte[] _destination = new byte[Length];

    [GlobalSetup]
    public void Setup() => new Random(5).NextBytes(_source);

    [Benchmark(Baseline = true)]
    public void Memcpy() => _source.AsSpan().CopyTo(_destination);

    [Benchmark]
    public int MaskCopy() => Masking.Copy(_source, _destination, 0x1234_5678, 1);

    [Benchmark]
    public int MaskInPlace() => Masking.Apply(_destination, 0x1234_5678, 1);
}
