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
    /// Idle duty cycles <see cref="WaitStrategy.SpinThenPark"/> spends spinning before it yields a few times and then
    /// parks. Each iteration is a short pause, and every fourth polls the sockets without waiting. Default 2,000
    /// (roughly 100-300 µs).
    /// </summary>
    public int SpinIterations { get; set; } = 2000;

    /// <summary>Capacity of the lock-free run queue; a power of two. When full, posts overflow to a locked queue (never dropped).</summary>
    public int RunQueueCapacity { get; set; } = 4096;

    /// <summary>Most work items run per duty cycle before sockets and timers get their turn.</summary>
    public int RunQueueBatchSize { get; set; } = 256;

    /// <summary>Most readiness events taken from one wait.</summary>
    public int MaxReadinessEvents { get; set; } = 256;

    /// <summary>Use the portable <c>Socket.Select</c> selector even on Linux (for tests and for comparing the two).</summary>
    public bool ForcePortableSelector { get; set; }

    /// <summary>
    /// Receives exceptions thrown by work items, timer callbacks, workers and socket handlers. The loop catches them
    /// (one faulty callback never stops the loop), counts them in <see cref="SidecarLoop.CallbackFaults"/> and passes
    /// them here, on the loop thread. Exceptions thrown by this handler are ignored.
    /// </summary>
    public Action<Exception>? CallbackExceptionHandler { get; set; }
}
