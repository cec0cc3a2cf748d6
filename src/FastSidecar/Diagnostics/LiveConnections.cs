using FastSidecar.Connection;

namespace FastSidecar.Diagnostics;

/// <summary>
/// The client connections that have started and not yet ended, so the queue-depth gauge can read their queues when a
/// metrics listener collects. Written twice per connection (start, end), read only by a collecting listener.
/// </summary>
/// <remarks>A lock, not a concurrent collection: the writes are per connection, not per message, and a lock keeps no garbage.</remarks>
internal static class LiveConnections
{
    private static readonly HashSet<ClientConnection> s_connections = new();

    public static void Add(ClientConnection connection)
    {
        lock (s_connections)
        {
            s_connections.Add(connection);
        }
    }

    public static void Remove(ClientConnection connection)
    {
        lock (s_connections)
        {
            s_connections.Remove(connection);
        }
    }

    /// <summary>The summed depth of every live connection's send and receive queues (a snapshot).</summary>
    public static (int Send, int Receive) QueueDepths()
    {
        int send = 0, receive = 0;
        lock (s_connections)
        {
            foreach (ClientConnection connection in s_connections)
            {
                send += connection.SendQueue.Count;
                receive += connection.ReceiveQueue.Count;
            }
        }

        return (send, receive);
    }
}
