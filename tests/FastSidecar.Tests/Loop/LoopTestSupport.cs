using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop;

namespace FastSidecar.Tests.LoopTests;

/// <summary>Tests that change process-wide state (the thread pool) or count process-wide things (descriptors, live loops).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessWideLoopGroup
{
    public const string Name = "Loop: process-wide state";
}

internal static class LoopTestSupport
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>A connected TCP pair on loopback, both non-blocking, Nagle off.</summary>
    public static (Socket Left, Socket Right) CreateSocketPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var left = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        left.Connect(listener.LocalEndPoint!);
        Socket right = listener.Accept();
        left.NoDelay = true;
        right.NoDelay = true;
        left.Blocking = false;
        right.Blocking = false;
        return (left, right);
    }

    /// <summary>Runs <paramref name="action"/> on the loop and waits for it.</summary>
    public static void OnLoop(this SidecarLoop loop, Action action) =>
        loop.Invoke(
            () =>
            {
                action();
                return ValueTask.CompletedTask;
            },
            Generous);

    public static T OnLoop<T>(this SidecarLoop loop, Func<T> func) =>
        loop.Invoke(() => ValueTask.FromResult(func()), Generous);

    public static int OpenDescriptors() =>
        OperatingSystem.IsLinux() ? Directory.GetFiles("/proc/self/fd").Length : 0;

    /// <summary>Open descriptors of the kinds a loop creates: epoll instances, eventfds and sockets (the portable selector's).</summary>
    public static (int Epoll, int EventFd, int Sockets) LoopKindDescriptors()
    {
        if (!OperatingSystem.IsLinux())
        {
            return default;
        }

        int epoll = 0, eventFd = 0, sockets = 0;
        foreach (string path in Directory.GetFiles("/proc/self/fd"))
        {
            string? target;
            try
            {
                target = new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                continue; // closed between listing and reading
            }

            if (target is null)
            {
                continue;
            }

            if (target.Contains("eventpoll", StringComparison.Ordinal))
            {
                epoll++;
            }
            else if (target.Contains("eventfd", StringComparison.Ordinal))
            {
                eventFd++;
            }
            else if (target.StartsWith("socket:", StringComparison.Ordinal))
            {
                sockets++;
            }
        }

        return (epoll, eventFd, sockets);
    }
}

/// <summary>A resource that records its abort.</summary>
internal sealed class RecordingResource : ILoopResource
{
    public int Aborts;
    public int AbortThreadId;

    public void Abort()
    {
        Interlocked.Increment(ref Aborts);
        AbortThreadId = Environment.CurrentManagedThreadId;
    }
}

/// <summary>Reads everything readable (to EAGAIN), records the threads and readiness it saw.</summary>
internal sealed class RecordingHandler : ISocketHandler
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly int _expected;
    private long _received;

    public RecordingHandler(Socket socket, int expectedBytes)
    {
        _socket = socket;
        _expected = expectedBytes;
    }

    public ManualResetEventSlim AllReceived { get; } = new();

    public ManualResetEventSlim Writable { get; } = new();

    public ManualResetEventSlim Error { get; } = new();

    public SocketRegistration? Registration { get; set; }

    public long Received => Interlocked.Read(ref _received);

    public int ReadableCalls;
    public int WritableCalls;
    public bool SawWouldBlock;
    public int WrongThreadCalls;
    public int LoopThreadId;

    public void OnReadable()
    {
        CheckThread();
        ReadableCalls++;
        while (true)
        {
            int n = _socket.Receive(_buffer, 0, _buffer.Length, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                SawWouldBlock = true;
                break;
            }

            if (error != SocketError.Success || n == 0)
            {
                break;
            }

            if (Interlocked.Add(ref _received, n) >= _expected)
            {
                AllReceived.Set();
            }
        }
    }

    public void OnWritable()
    {
        CheckThread();
        WritableCalls++;
        Registration?.SetInterest(SocketInterest.Read);
        Writable.Set();
    }

    public void OnError()
    {
        CheckThread();
        Registration?.Dispose();
        Error.Set();
    }

    private void CheckThread()
    {
        if (Environment.CurrentManagedThreadId != LoopThreadId)
        {
            Interlocked.Increment(ref WrongThreadCalls);
        }
    }
}
