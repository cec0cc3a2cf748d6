using FastSidecar.Buffers;

namespace FastSidecar;

/// <summary>
/// Process-wide counters that tests and users read to prove there is no leak: loops alive, connections alive,
/// buffers rented from the shared pool and not returned. Each read is a snapshot.
/// </summary>
public static class SidecarDiagnostics
{
    private static int s_liveConnections;

    /// <summary>Loop threads started and not yet stopped.</summary>
    public static int LiveLoops => SidecarLoop.LiveLoops;

    /// <summary>
    /// Connections (client and embedded-server sessions) whose socket is not yet closed, counting each socket a client
    /// opened for a connection attempt (RFC 8305 may race two) until it is closed or becomes the connection's.
    /// </summary>
    public static int LiveConnections => Volatile.Read(ref s_liveConnections);

    /// <summary>Buffers rented from <see cref="SidecarBufferPool.Shared"/> and not yet returned.</summary>
    public static long SharedPoolOutstanding => SidecarBufferPool.Shared.Outstanding;

    /// <summary>permessage-deflate states (compressor and inflater of one connection) rented and not yet returned.</summary>
    public static long DeflateStatesOutstanding => FastSidecar.Protocol.Deflate.PerMessageDeflatePool.Outstanding;

    internal static void ConnectionOpened() => Interlocked.Increment(ref s_liveConnections);

    internal static void ConnectionClosed() => Interlocked.Decrement(ref s_liveConnections);
}
