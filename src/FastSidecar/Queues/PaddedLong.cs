using System.Runtime.InteropServices;

namespace FastSidecar.Queues;

/// <summary>
/// A 64-bit counter alone on its cache line (128 bytes covers adjacent-line prefetch), so that a producer
/// index and a consumer index never share a line and ping-pong between cores (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedLong
{
    /// <summary>The value. Callers choose the memory ordering per access (<see cref="Volatile"/>, <see cref="Interlocked"/>).</summary>
    [FieldOffset(64)]
    public long Value;
}
