using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using FastSidecar.Queues;

namespace FastSidecar.Benchmarks.Queues;

/// <summary>The shape of the real outbound message descriptor: 16 bytes, no references.</summary>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct OutboundDescriptor(long Token, int Length, int Flags);

/// <summary>
/// Application threads → loop: <see cref="Producers"/> threads move <see cref="Items"/> 16-byte structs to one
/// consumer (the benchmark thread). Producer threads live for the whole run and are released per invocation, so
/// thread start-up is neither timed nor counted as allocation. Every contender waits the same way: bounded ones spin
/// (or block, where blocking is their API) on full, every consumer spins on empty.
/// </summary>
[MemoryDiagnoser]
public class MpscQueueBenchmarks
{
    public const int Items = 1 << 19;
    private const int Capacity = 4096; // SidecarOptions.SendQueueCapacity's default

    private enum Kind { Ring, Bounded, Concurrent, ChannelBounded, ChannelUnbounded, Blocking }

    private readonly SemaphoreSlim _go = new(0);
    private readonly CountdownEvent _done = new(1);
    private Thread[] _threads = [];
    private volatile bool _stopping;
    private Kind _kind;

    private MpscRing<OutboundDescriptor> _ring = null!;
    private BoundedMpscQueue<OutboundDescriptor> _bounded = null!;
    private ConcurrentQueue<OutboundDescriptor> _concurrent = null!;
    private Channel<OutboundDescriptor> _channelBounded = null!;
    private Channel<OutboundDescriptor> _channelUnbounded = null!;
    private BlockingCollection<OutboundDescriptor> _blocking = null!;

    [Params(1, 2)]
    public int Producers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _ring = new MpscRing<OutboundDescriptor>(Capacity);
        _bounded = new BoundedMpscQueue<OutboundDescriptor>(Capacity);
        _concurrent = new ConcurrentQueue<OutboundDescriptor>();
        _channelBounded = Channel.CreateBounded<OutboundDescriptor>(
            new BoundedChannelOptions(Capacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
        _channelUnbounded = Channel.CreateUnbounded<OutboundDescriptor>(new UnboundedChannelOptions { SingleReader = true });
        _blocking = new BlockingCollection<OutboundDescriptor>(new ConcurrentQueue<OutboundDescriptor>(), Capacity);
        _threads = new Thread[Producers];
        for (int i = 0; i < Producers; i++)
        {
            _threads[i] = new Thread(ProducerMain) { IsBackground = true, Name = $"producer {i}" };
            _threads[i].Start();
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stopping = true;
        _go.Release(_threads.Length);
        foreach (Thread thread in _threads)
        {
            thread.Join();
        }

        _blocking.Dispose();
        _go.Dispose();
        _done.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items)]
    public long ConcurrentQueue()
    {
        Release(Kind.Concurrent);
        long sum = 0;
        var spinner = default(SpinWait);
        for (int n = 0; n < Items;)
        {
            if (_concurrent.TryDequeue(out OutboundDescriptor item))
            {
                sum += item.Length;
                n++;
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        return Finish(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public long MpscRing()
    {
        Release(Kind.Ring);
        long sum = 0;
        var spinner = default(SpinWait);
        for (int n = 0; n < Items;)
        {
            if (_ring.TryDequeue(out OutboundDescriptor item))
            {
                sum += item.Length;
                n++;
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        return Finish(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public long BoundedMpscQueue()
    {
        Release(Kind.Bounded);
        long sum = 0;
        var spinner = default(SpinWait);
        for (int n = 0; n < Items;)
        {
            if (_bounded.TryDequeue(out OutboundDescriptor item))
            {
                sum += item.Length;
                n++;
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        return Finish(sum);
    }

    [Benchmark(OperationsPerInvoke = Items)]
    public long ChannelBounded() => DrainChannel(_channelBounded.Reader, Kind.ChannelBounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public long ChannelUnbounded() => DrainChannel(_channelUnbounded.Reader, Kind.ChannelUnbounded);

    [Benchmark(OperationsPerInvoke = Items)]
    public long BlockingCollection()
    {
        Release(Kind.Blocking);
        long sum = 0;
        for (int n = 0; n < Items; n++)
        {
            sum += _blocking.Take().Length; // blocking is this type's API; Add blocks on full the same way
        }

        return Finish(sum);
    }

    private long DrainChannel(ChannelReader<OutboundDescriptor> reader, Kind kind)
    {
        Release(kind);
        long sum = 0;
        var spinner = default(SpinWait);
        for (int n = 0; n < Items;)
        {
            if (reader.TryRead(out OutboundDescriptor item))
            {
                sum += item.Length;
                n++;
            }
            else
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }

        return Finish(sum);
    }

    private void Release(Kind kind)
    {
        _kind = kind;
        _done.Reset(_threads.Length);
        _go.Release(_threads.Length); // a release is a full fence: producers see _kind
    }

    private long Finish(long sum)
    {
        _done.Wait();
        return sum;
    }

    private void ProducerMain()
    {
        while (true)
        {
            _go.Wait();
            if (_stopping)
            {
                return;
            }

            int count = Items / _threads.Length;
            switch (_kind)
            {
                case Kind.Ring: ProduceRing(count); break;
                case Kind.Bounded: ProduceBounded(count); break;
                case Kind.Concurrent: ProduceConcurrent(count); break;
                case Kind.ChannelBounded: ProduceChannel(_channelBounded.Writer, count); break;
                case Kind.ChannelUnbounded: ProduceChannel(_channelUnbounded.Writer, count); break;
                case Kind.Blocking: ProduceBlocking(count); break;
            }

            _done.Signal();
        }
    }

    private void ProduceRing(int count)
    {
        var spinner = default(SpinWait);
        for (int i = 0; i < count; i++)
        {
            var item = new OutboundDescriptor(i, 64, 0);
            while (!_ring.TryEnqueue(item))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private void ProduceBounded(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _bounded.Enqueue(new OutboundDescriptor(i, 64, 0), Timeout.InfiniteTimeSpan);
        }
    }

    private void ProduceConcurrent(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _concurrent.Enqueue(new OutboundDescriptor(i, 64, 0));
        }
    }

    private static void ProduceChannel(ChannelWriter<OutboundDescriptor> writer, int count)
    {
        var spinner = default(SpinWait);
        for (int i = 0; i < count; i++)
        {
            var item = new OutboundDescriptor(i, 64, 0);
            while (!writer.TryWrite(item))
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    private void ProduceBlocking(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _blocking.Add(new OutboundDescriptor(i, 64, 0));
        }
    }
}
