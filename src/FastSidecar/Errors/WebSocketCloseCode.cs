namespace FastSidecar;

/// <summary>Close status codes of RFC 6455 §7.4.1 that FastSidecar sends or reports.</summary>
/// <remarks>Any other code in 3000–4999 may also appear in a <see cref="SidecarWebSocketException"/>; the enum is not exhaustive.</remarks>
public enum WebSocketCloseCode : ushort
{
    /// <summary>1000: the purpose of the connection has been fulfilled.</summary>
    NormalClosure = 1000,

    /// <summary>1001: an endpoint is going away.</summary>
    EndpointUnavailable = 1001,

    /// <summary>1002: the peer broke the protocol.</summary>
    ProtocolError = 1002,

    /// <summary>1003: a data type the endpoint cannot accept.</summary>
    InvalidMessageType = 1003,

    /// <summary>1005: no status code was present in the close frame. Never sent on the wire.</summary>
    Empty = 1005,

    /// <summary>1006: the connection closed without a close frame. Never sent on the wire.</summary>
    Abnormal = 1006,

    /// <summary>1007: a text message was not valid UTF-8.</summary>
    InvalidPayloadData = 1007,

    /// <summary>1008: a message violated the endpoint's policy.</summary>
    PolicyViolation = 1008,

    /// <summary>1009: a message was larger than the endpoint accepts.</summary>
    MessageTooBig = 1009,

    /// <summary>1010: the server did not negotiate an extension the client required.</summary>
    MandatoryExtension = 1010,

    /// <summary>1011: the endpoint hit an unexpected condition.</summary>
    InternalServerError = 1011,
}
