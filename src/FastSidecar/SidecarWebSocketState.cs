namespace FastSidecar;

/// <summary>The state of a <see cref="SidecarWebSocket"/> as the application sees it.</summary>
public enum SidecarWebSocketState
{
    /// <summary>The TCP connect or the opening handshake is in progress.</summary>
    Connecting,

    /// <summary>Messages flow both ways.</summary>
    Open,

    /// <summary>The connection ended (closed by the peer, or failed); queued messages may still be received.</summary>
    Closed,

    /// <summary><see cref="SidecarWebSocket.Exit()"/> has started or finished; every call but Exit and Dispose throws.</summary>
    Exited,

    /// <summary>
    /// The connection was lost and a new one is being made (<see cref="SidecarOptions.Reconnect"/>): <c>Send</c> keeps
    /// queueing (bounded by the queue and <see cref="SidecarOptions.SendTimeout"/>), and the queue goes out on the new connection.
    /// </summary>
    Reconnecting,
}
