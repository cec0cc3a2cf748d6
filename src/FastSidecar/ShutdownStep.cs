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

/// <summary>The record of one step of <see cref="SidecarWebSocket.Exit()"/>.</summary>
/// <param name="Name">The step, in the order <see cref="SidecarWebSocket.Exit()"/> runs them: stop taking work, close the WebSocket, stop the loop, join the thread.</param>
/// <param name="Duration">Wall-clock time the step took.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Detail">A short explanation of the outcome.</param>
public sealed record ShutdownStep(string Name, TimeSpan Duration, ShutdownOutcome Outcome, string Detail);
