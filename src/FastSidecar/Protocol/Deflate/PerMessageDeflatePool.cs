using FastSidecar.Buffers;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Protocol.Deflate;

/// <summary>
/// Recycles <see cref="PerMessageDeflate"/> objects across connections, and counts the ones rented and not returned,
/// so the leak census sees a session that forgot its compression state.
/// </summary>
/// <remarks>
/// Any thread: sessions on different loops rent and return concurrently, rarely (once per connection), so a lock
/// is cheaper to reason about than anything lock-free. The zlib state itself is not kept across rentals: a returned
/// object has freed it (zlib has no reset for the compressor that this library can reach), so an idle object costs
/// a few dozen bytes and the pool bounds how many it keeps.
/// </remarks>
internal static class PerMessageDeflatePool
{
    private const int MaxIdle = 64;
    private static readonly Stack<PerMessageDeflate> s_idle = new();
    private static long s_outstanding;

    /// <summary>Rented and not yet returned.</summary>
    public static long Outstanding => Volatile.Read(ref s_outstanding);

    /// <summary>A state started for <paramref name="parameters"/>; give it back with <see cref="Return"/>.</summary>
    public static PerMessageDeflate Rent(in DeflateParameters parameters, SidecarBufferPool pool)
    {
        PerMessageDeflate? state;
        lock (s_idle)
        {
            s_idle.TryPop(out state);
        }

        state ??= new PerMessageDeflate();
        try
        {
            state.Start(parameters, pool);
        }
        catch
        {
            state.Dispose();
            throw;
        }

        Interlocked.Increment(ref s_outstanding);
        return state;
    }

    /// <summary>Stops <paramref name="state"/> and keeps it for the next connection.</summary>
    public static void Return(PerMessageDeflate state)
    {
        state.Stop();
        Interlocked.Decrement(ref s_outstanding);
        lock (s_idle)
        {
            if (s_idle.Count < MaxIdle)
            {
                s_idle.Push(state);
                return;
            }
        }

        state.Dispose();
    }
}
