using Microsoft.Extensions.Logging;

namespace FastSidecar.Diagnostics;

/// <summary>The log lines of reconnecting (category <see cref="SidecarLog.Category"/>); one per loss and per attempt, none per message.</summary>
internal static partial class ReconnectLog
{
    [LoggerMessage(EventId = 20, EventName = "ConnectionLost", Level = LogLevel.Warning,
        Message = "Connection to {Uri} lost ({Reason}): {Sent} messages sent, {InDoubt} in doubt; reconnecting")]
    public static partial void ConnectionLost(ILogger logger, Uri uri, string reason, long sent, long inDoubt);

    [LoggerMessage(EventId = 21, EventName = "ReconnectScheduled", Level = LogLevel.Information,
        Message = "Reconnect attempt {Attempt} to {Uri} in {DelayMilliseconds:0.000} ms (cap {CapMilliseconds:0.000} ms)")]
    public static partial void AttemptScheduled(ILogger logger, Uri uri, int attempt, double delayMilliseconds, double capMilliseconds);

    [LoggerMessage(EventId = 22, EventName = "ReconnectAttemptFailed", Level = LogLevel.Information,
        Message = "Reconnect attempt {Attempt} to {Uri} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, Uri uri, int attempt, string reason);

    [LoggerMessage(EventId = 23, EventName = "ReconnectHookFailed", Level = LogLevel.Error,
        Message = "The OnConnected hook for {Uri} threw; the connection fails")]
    public static partial void HookFailed(ILogger logger, Uri uri, Exception exception);
}
