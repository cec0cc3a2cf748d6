using System.Net.Sockets;

namespace FastSidecar.Loop;

/// <summary>One socket's membership in a loop's readiness set; dispose it to leave the set.</summary>
/// <remarks>
/// Loop thread only. The registration does not own the socket: disposing it never closes the socket, and the loop
/// closes registered sockets only through their <see cref="ILoopResource.Abort"/>. Dispose the registration before
/// closing the socket. <see cref="SetInterest"/> makes a system call (EPOLL_CTL_MOD) only when the interest changes.
/// </remarks>
internal sealed class SocketRegistration : IDisposable
{
    private readonly SidecarLoop _loop;
    private SocketInterest _interest;

    internal SocketRegistration(SidecarLoop loop, Socket socket, ISocketHandler handler, int slot, uint generation, SocketInterest interest)
    {
        _loop = loop;
        Socket = socket;
        Handler = handler;
        Slot = slot;
        Generation = generation;
        _interest = interest;
    }

    public Socket Socket { get; }

    public ISocketHandler Handler { get; }

    /// <summary>True once disposed by its owner or removed by the loop's teardown.</summary>
    public bool IsDisposed { get; private set; }

    internal int Slot { get; }

    internal uint Generation { get; }

    internal ulong Token => ((ulong)Generation << 32) | (uint)Slot;

    /// <summary>Changes what readiness is reported. No-op when unchanged.</summary>
    public void SetInterest(SocketInterest interest)
    {
        _loop.AssertOnLoopThread();
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (interest == _interest)
        {
            return;
        }

        _loop.ModifyRegistration(this, interest);
        _interest = interest;
    }

    /// <summary>Leaves the readiness set (EPOLL_CTL_DEL). Idempotent; the socket stays open.</summary>
    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }

        _loop.AssertOnLoopThread();
        IsDisposed = true;
        _loop.Unregister(this);
    }

    /// <summary>The loop's teardown removed it (the selector is about to close).</summary>
    internal void MarkRemoved() => IsDisposed = true;
}
