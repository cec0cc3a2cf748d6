namespace FastSidecar;

/// <summary>Who or what started the end of a connection, as the loop saw it.</summary>
public enum CloseInitiator
{
    /// <summary>Nobody: the connection never opened (Exit during connect, or its loop stopped first).</summary>
    None,

    /// <summary>The application, through <see cref="SidecarWebSocket.Exit()"/>.</summary>
    Application,

    /// <summary>The peer sent the first close frame.</summary>
    Peer,

    /// <summary>A failure: a protocol violation, a socket error, a dead peer caught by the keep-alive.</summary>
    Error,
}

/// <summary>How reports print a <see cref="CloseInitiator"/>.</summary>
internal static class CloseInitiatorText
{
    /// <summary>The lower-case word the report and the CLI print ("application").</summary>
    public static string ToWord(this CloseInitiator initiator) => initiator switch
    {
        CloseInitiator.Application => "application",
        CloseInitiator.Peer => "peer",
        CloseInitiator.Error => "error",
        _ => "none",
    };
}
