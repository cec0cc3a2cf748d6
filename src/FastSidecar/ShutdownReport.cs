using System.Globalization;
using System.Text;

namespace FastSidecar;

/// <summary>
/// What <see cref="SidecarWebSocket.Exit()"/> did: each step with its duration and outcome, the close status, and
/// the fate of every message: sent, not sent, received, not consumed. <see cref="ToString"/> prints a table.
/// </summary>
public sealed class ShutdownReport
{
    internal ShutdownReport(IReadOnlyList<ShutdownStep> steps, WebSocketCloseCode? closeCode, string? closeReason, CloseInitiator closeInitiator,
        long messagesSent, long messagesNotSent, long messagesReceived, long messagesNotConsumed, bool threadJoined, Exception? fault,
        long messagesInDoubt = 0)
    {
        MessagesInDoubt = messagesInDoubt;
        Steps = steps;
        CloseCode = closeCode;
        CloseReason = closeReason;
        CloseInitiator = closeInitiator;
        MessagesSent = messagesSent;
        MessagesNotSent = messagesNotSent;
        MessagesReceived = messagesReceived;
        MessagesNotConsumed = messagesNotConsumed;
        ThreadJoined = threadJoined;
        Fault = fault;
        Total = TimeSpan.Zero;
        foreach (ShutdownStep step in steps)
        {
            Total += step.Duration;
        }
    }

    /// <summary>The four steps, in order.</summary>
    public IReadOnlyList<ShutdownStep> Steps { get; }

    /// <summary>The close status the connection ended with (sent by the peer, or ours if the peer never answered); null if no close frame was exchanged.</summary>
    public WebSocketCloseCode? CloseCode { get; }

    /// <summary>The close reason that went with <see cref="CloseCode"/>.</summary>
    public string? CloseReason { get; }

    /// <summary>Who started the closing (<see cref="CloseInitiator.None"/> when no connection was open).</summary>
    public CloseInitiator CloseInitiator { get; }

    /// <summary>Messages handed to <c>Send</c> that were written to the socket.</summary>
    public long MessagesSent { get; }

    /// <summary>Messages handed to <c>Send</c> that were never written, because the connection ended first.</summary>
    public long MessagesNotSent { get; }

    /// <summary>
    /// With <see cref="SidecarOptions.Reconnect"/>: messages handed to <c>Send</c> that were written to a connection
    /// that was then lost, after the peer was last heard from (see <see cref="ReconnectNotice.MessagesInDoubt"/>).
    /// <see cref="MessagesSent"/> + this + <see cref="MessagesNotSent"/> is every message <c>Send</c> accepted.
    /// </summary>
    public long MessagesInDoubt { get; }

    /// <summary>Messages received from the peer and handed to the receive queue.</summary>
    public long MessagesReceived { get; }

    /// <summary>Received messages still queued, never taken by the application, returned to the pool at exit.</summary>
    public long MessagesNotConsumed { get; }

    /// <summary>Whether the loop thread ended within <see cref="SidecarOptions.JoinTimeout"/> (true also when a shared loop was left running by design).</summary>
    public bool ThreadJoined { get; }

    /// <summary>The first error that ended the connection before <c>Exit</c>, if any.</summary>
    public Exception? Fault { get; }

    /// <summary>The sum of the steps' durations.</summary>
    public TimeSpan Total { get; }

    /// <summary>A readable table of the steps and counts.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        const string Row = "| {0,-22} | {1,12} | {2,-10} | {3}\n";
        text.AppendFormat(CultureInfo.InvariantCulture, Row, "step", "duration", "outcome", "detail");
        text.Append("|------------------------|--------------|------------|--------\n");
        foreach (ShutdownStep step in Steps)
        {
            text.AppendFormat(CultureInfo.InvariantCulture, Row, step.Name, FormatDuration(step.Duration), step.Outcome, step.Detail);
        }

        text.AppendFormat(CultureInfo.InvariantCulture, Row, "total", FormatDuration(Total), "", "");
        text.AppendFormat(CultureInfo.InvariantCulture,
            "close: {0} ({1}), initiated by {2}; messages sent {3}, not sent {4}, received {5}, not consumed {6}; thread joined: {7}\n",
            CloseCode is { } code ? ((int)code).ToString(CultureInfo.InvariantCulture) : "none", CloseReason ?? "", CloseInitiator.ToWord(),
            MessagesSent, MessagesNotSent, MessagesReceived, MessagesNotConsumed, ThreadJoined ? "yes" : "no");
        if (MessagesInDoubt != 0)
        {
            text.AppendFormat(CultureInfo.InvariantCulture, "in doubt after reconnects: {0}\n", MessagesInDoubt);
        }
        // A normal close by the peer ends the connection with a WebSocketClosedException, but it is not a fault: the
        // close line above already says who closed and with what.
        if (Fault is not null && !(Fault is WebSocketClosedException && CloseInitiator == CloseInitiator.Peer))
        {
            text.Append("fault: ").Append(Fault.GetType().Name).Append(": ").Append(Fault.Message).Append('\n');
        }

        return text.ToString();
    }

    private static string FormatDuration(TimeSpan duration) =>
        duration.TotalMilliseconds >= 1
            ? duration.TotalMilliseconds.ToString("0.000", CultureInfo.InvariantCulture) + " ms"
            : (duration.Ticks / 10.0).ToString("0.0", CultureInfo.InvariantCulture) + " µs";
}
