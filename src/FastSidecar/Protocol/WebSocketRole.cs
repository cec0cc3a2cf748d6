namespace FastSidecar.Protocol;

/// <summary>Which end of the connection we are; it decides who masks (RFC 6455 §5.1: only clients mask).</summary>
internal enum WebSocketRole
{
    Client,
    Server,
}
