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
}
