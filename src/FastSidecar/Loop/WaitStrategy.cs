namespace FastSidecar;

/// <summary>What a <see cref="SidecarLoop"/> does when a duty cycle found no work.</summary>
public enum WaitStrategy
{
    /// <summary>
    /// Park in the readiness wait until a socket is ready, the next timer is due, or a producer wakes the loop.
    /// Lowest CPU use; every wake-up of a parked loop pays for a system call and a thread wake-up.
    /// </summary>
    Blocking = 0,

    /// <summary>
    /// Spin for a bounded time, <see cref="SidecarLoopOptions.SpinDuration"/> (50 µs by default), polling sockets
    /// without waiting every few iterations, then yield the processor a few times, then park as <see cref="Blocking"/>
    /// does. Bursty traffic is answered at spinning speed; an idle loop costs no CPU.
    /// </summary>
    SpinThenPark = 1,

    /// <summary>Never park: poll sockets and queues continuously. Lowest latency; burns one core for the loop's lifetime.</summary>
    BusySpin = 2,
}
