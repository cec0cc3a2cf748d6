using System.Net.Sockets;

namespace FastSidecar.Connection;

/// <summary>Hears how an <see cref="EndpointConnector"/> ended, on the loop thread, exactly once.</summary>
internal interface IConnectOwner
{
    /// <summary>An attempt connected; the owner now owns <paramref name="socket"/> (non-blocking, not registered).</summary>
    void OnEndpointConnected(Socket socket);

    /// <summary>Resolving failed, or every address was tried and none connected.</summary>
    void OnEndpointFailed(WebSocketConnectionException error);
}
