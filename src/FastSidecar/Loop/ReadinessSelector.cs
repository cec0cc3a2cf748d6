using System.Net.Sockets;

namespace FastSidecar.Loop;

/// <summary>Waits for socket readiness and for a wake-up signal; one per loop.</summary>
/// <remarks>
/// Thread affinity: everything except <see cref="Signal"/> runs on the loop thread. <see cref="Signal"/> may be called
/// from any thread, also concurrently with <see cref="Dispose"/>, and then does nothing. A selector never closes a
/// socket: registered sockets belong to their <see cref="ILoopResource"/>.
/// </remarks>
internal abstract class ReadinessSelector : IDisposable
{
    /// <summary>Starts reporting <paramref name="interest"/> (plus errors) for <paramref name="socket"/>, tagged with <paramref name="token"/>.</summary>
    public abstract void Add(Socket socket, ulong token, SocketInterest interest);

    /// <summary>Changes the interest of a socket previously added.</summary>
    public abstract void Modify(Socket socket, ulong token, SocketInterest interest);

    /// <summary>Stops reporting the socket. A socket already closed is tolerated (the kernel has dropped it).</summary>
    public abstract void Remove(Socket socket);

    /// <summary>
    /// Waits up to <paramref name="timeoutMilliseconds"/> (0: poll, -1: forever) for readiness or a <see cref="Signal"/>;
    /// writes at most <c>events.Length</c> reports and returns how many. A wake-up signal is consumed here and not reported.
    /// </summary>
    public abstract int Wait(int timeoutMilliseconds, ReadyEvent[] events);

    /// <summary>Makes the current or next <see cref="Wait"/> return. Any thread.</summary>
    public abstract void Signal();

    /// <summary>Releases the selector's own descriptors or sockets. Loop thread, once, at teardown.</summary>
    public abstract void Dispose();

    public static ReadinessSelector Create(bool forcePortable, int maxEvents) =>
        !forcePortable && Interop.LinuxEpoll.IsSupported
            ? new EpollSelector(maxEvents)
            : new PortableSelector();
}
