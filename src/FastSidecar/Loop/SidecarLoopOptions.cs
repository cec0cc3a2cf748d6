using FastSidecar.Loop;

namespace FastSidecar;

/// <summary>Settings of a <see cref="SidecarLoop"/>; read once by its constructor.</summary>
public sealed class SidecarLoopOptions
{
    /// <summary>The loop thread's name (shown by debuggers and <c>/proc/self/task/*/comm</c>, truncated there).</summary>
    public string Name { get; set; } = "FastSidecar loop";

    /// <summary>What the loop does when a duty cycle finds no work. Default <see cref="WaitStrategy.SpinThenPark"/>.</summary>
    public WaitStrategy WaitStrategy { get; set; } = WaitStrategy.SpinThenPark;

    /// <summary>
    /// How long <see cref="WaitStrategy.SpinThenPark"/> keeps spinning after the last work before it yields a few times
    /// and parks. Default 50 µs: longer than a loopback round trip, so a reply is picked up at spinning speed, and short
    /// enough that an idle loop hands its core back (on a small machine the peer or the application needs it). Spinning
    /// polls the sockets without waiting every few iterations, so it is not free: keep it near the latency it hides.
    /// </summary>
    public TimeSpan SpinDuration { get; set; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Capacity of the lock-free run queue; a power of two. When full, posts overflow to a locked queue (never dropped).</summary>
    public int RunQueueCapacity { get; set; } = 4096;

    /// <summary>Most work items run per duty cycle before sockets and timers get their turn.</summary>
    public int RunQueueBatchSize { get; set; } = 256;

    /// <summary>Most readiness events taken from one wait.</summary>
    public int MaxReadinessEvents { get; set; } = 256;

    /// <summary>Use the portable <c>Socket.Select</c> selector even on Linux (for tests and for comparing the two).</summary>
    internal bool ForcePortableSelector { get; set; }

    /// <summary>
    /// Receives exceptions thrown by work items, timer callbacks and socket handlers. The loop catches them
    /// (one faulty callback never stops the loop), counts them in <see cref="SidecarLoop.CallbackFaults"/> and passes
    /// them here, on the loop thread. Exceptions thrown by this handler are ignored.
    /// </summary>
    public Action<Exception>? CallbackExceptionHandler { get; set; }
}
