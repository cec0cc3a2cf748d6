namespace FastSidecar;

/// <summary>How one step of the shutdown protocol ended.</summary>
public enum ShutdownOutcome
{
    /// <summary>The step did what it is for within its deadline.</summary>
    Completed,

    /// <summary>There was nothing to do (for example, closing a connection the peer had already closed).</summary>
    Skipped,

    /// <summary>The step hit its deadline and fell back (abortive close, thread not joined).</summary>
    TimedOut,

    /// <summary>The step failed with an error; the shutdown went on.</summary>
    Failed,
}

/// <summary>The four steps of <see cref="SidecarWebSocket.Exit()"/>, in the order it runs them.</summary>
public enum ShutdownStepKind
{
    /// <summary>Send refuses new messages; the loop stops delivering.</summary>
    StopTakingWork,

    /// <summary>Flush the queue, exchange close frames, wait for the TCP close (bounded by the close timeout).</summary>
    CloseWebSocket,

    /// <summary>Abort what the close left open; return every pooled buffer and count the messages.</summary>
    StopLoop,

    /// <summary>Join the loop thread, when the connection owns its loop (bounded by the join timeout).</summary>
    JoinThread,
}

/// <summary>The record of one step of <see cref="SidecarWebSocket.Exit()"/>.</summary>
/// <param name="Kind">Which step.</param>
/// <param name="Duration">Wall-clock time the step took.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">A short explanation of the outcome.</param>
public sealed record ShutdownStep(ShutdownStepKind Kind, TimeSpan Duration, ShutdownOutcome Outcome, string Detail)
{
    /// <summary>The step's name as the report prints it ("close the WebSocket").</summary>
    public string Name => Kind switch
    {
        ShutdownStepKind.StopTakingWork => "stop taking work",
        ShutdownStepKind.CloseWebSocket => "close the WebSocket",
        ShutdownStepKind.StopLoop => "stop the loop",
        _ => "join the thread",
    };
}
