using FastSidecar.Loop;
using FastSidecar.Queues;

namespace FastSidecar;

/// <summary>Settings of a <see cref="SidecarLoop"/>; read once by its constructor.</summary>
public sealed class SidecarLoopOptions
{
    /// <summary>The loop thread's name (shown by debuggers and <c>/proc/self/task/*/comm</c>, truncated there).</summary>
    public string Name { get; set; } = "FastSidecar loop";

    /// <summary>What the loop does when a duty cycle finds no work. Default <see cref="WaitStrategy.SpinThenPark"/>.</summary>
    public WaitStrategy WaitStrategy { get; set; } = WaitStrategy.SpinThenPark;

    /// <summary>
    /// The longest <see cref="WaitStrategy.SpinThenPark"/> spins (yielding the core, polling sockets between yields)
    /// after the last work before it parks; threads waiting in <c>Receive</c> on this loop's connections spin as long.
    /// Default 200 µs: long enough for a loopback round trip through a thread-pool server or over TLS, so a reply is
    /// picked up at spinning speed. The spin is adaptive: it lasts about twice the typical recent wait (at least a
    /// quarter of this limit), stops on its own when waits outlast the limit, and resumes as soon as one is short again.
    /// An idle loop hands its core back within the limit.
    /// </summary>
    public TimeSpan SpinDuration { get; set; } = WaitPolicy.DefaultSpinDuration;

    /// <summary>
    /// The processor (0-based) to pin the loop thread to, or null (the default) to let the scheduler place it. Pinning
    /// spares the loop migrations and cold caches, which pays when that core is kept for the loop (isolated, or
    /// <see cref="WaitStrategy.BusySpin"/> on a machine with cores to spare); on a machine whose few cores are shared it
    /// can only take choices away from the scheduler. Linux only (<c>sched_setaffinity</c>); ignored elsewhere, and when
    /// the kernel refuses (a processor outside the process's cpuset): <see cref="SidecarLoop.IsPinned"/> says which.
    /// </summary>
    public int? ProcessorAffinity { get; set; }

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
