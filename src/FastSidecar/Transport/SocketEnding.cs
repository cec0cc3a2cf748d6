using System.Net.Sockets;

namespace FastSidecar.Transport;

/// <summary>How every transport ends its socket: a half-close that tolerates a peer that already reset, and a close
/// that is a reset when asked to be abortive.</summary>
internal static class SocketEnding
{
    /// <summary>Sends FIN; a socket the peer already reset is left to the close that follows.</summary>
    public static void ShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the peer: the close that follows releases the socket either way.
        }
    }

    /// <summary>Closes <paramref name="socket"/>; abortively (linger 0, a reset) when <paramref name="abortive"/>.</summary>
    public static void Close(Socket socket, bool abortive)
    {
        if (abortive)
        {
            try
            {
                // Linger 0 turns close() into a reset: nothing waits in the kernel for a silent peer.
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (SocketException)
            {
            }
        }

        socket.Dispose();
    }
}
