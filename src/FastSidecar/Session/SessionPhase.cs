namespace FastSidecar.Session;

/// <summary>
/// Where a session is in its life. The close flags (<c>closeSent</c>, <c>closeReceived</c>) are kept apart from
/// the phase because either side may start the closing handshake, and a session must know which frames it still
/// owes: a close echo when only the peer's close arrived, nothing more once both have crossed.
/// </summary>
internal enum SessionPhase
{
    /// <summary>Created, nothing started.</summary>
    Idle,

    /// <summary>Client: the non-blocking TCP connect is in progress; waiting for writability.</summary>
    Connecting,

    /// <summary>TCP is up; the HTTP upgrade is in flight (client: request sent; server: request awaited).</summary>
    Handshaking,

    /// <summary>Frames flow both ways.</summary>
    Open,

    /// <summary>A close frame has crossed in at least one direction, or the session failed; waiting for the rest of the handshake and the TCP close, under a deadline.</summary>
    Closing,

    /// <summary>Socket closed, buffers returned, owner told.</summary>
    Closed,
}
