using Microsoft.Extensions.Logging;

namespace FastSidecar.Diagnostics;

/// <summary>
/// Every log line FastSidecar writes, as source-generated <see cref="LoggerMessageAttribute"/> methods: no boxing and
/// no formatting unless the level is enabled. Each one marks a connection's life event; none is on the per-message path.
/// </summary>
internal static partial class SidecarLog
{
    /// <summary>The logger category.</summary>
    public const string Category = "FastSidecar";

    [LoggerMessage(EventId = 1, EventName = "Connecting", Level = LogLevel.Debug, Message = "Connecting to {Uri}")]
    public static partial void Connecting(ILogger logger, Uri uri);

    [LoggerMessage(EventId = 2, EventName = "Connected", Level = LogLevel.Information,
        Message = "Connected to {Uri} in {ElapsedMilliseconds:0.000} ms (subprotocol: {SubProtocol})")]
    public static partial void Connected(ILogger logger, Uri uri, double elapsedMilliseconds, string? subProtocol);

    [LoggerMessage(EventId = 3, EventName = "ConnectFailed", Level = LogLevel.Warning,
        Message = "Connecting to {Uri} failed after {ElapsedMilliseconds:0.000} ms: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, Uri uri, double elapsedMilliseconds, string reason, Exception? exception);

    [LoggerMessage(EventId = 4, EventName = "Closed", Level = LogLevel.Information,
        Message = "Connection to {Uri} closed with {CloseCode} ({CloseReason}), initiated by {Initiator}")]
    public static partial void Closed(ILogger logger, Uri uri, int? closeCode, string? closeReason, string initiator);

    [LoggerMessage(EventId = 5, EventName = "Faulted", Level = LogLevel.Warning,
        Message = "Connection to {Uri} failed ({Kind}, close code {CloseCode}): {Reason}")]
    public static partial void Faulted(ILogger logger, Uri uri, string kind, int? closeCode, string reason, Exception exception);

    [LoggerMessage(EventId = 6, EventName = "KeepAliveTimedOut", Level = LogLevel.Warning,
        Message = "Connection to {Uri}: the peer sent nothing for {SilenceMilliseconds} ms, not even a pong to a keep-alive ping; presumed dead")]
    public static partial void KeepAliveTimedOut(ILogger logger, Uri uri, double silenceMilliseconds);

    [LoggerMessage(EventId = 7, EventName = "Exited", Level = LogLevel.Information,
        Message = "Exit of {Uri} took {TotalMilliseconds:0.000} ms: close {CloseCode} ({CloseReason}) initiated by {Initiator}; " +
                  "messages sent {Sent}, not sent {NotSent}, received {Received}, not consumed {NotConsumed}; thread joined: {ThreadJoined}")]
    public static partial void Exited(ILogger logger, Uri uri, double totalMilliseconds, int? closeCode, string? closeReason, CloseInitiator initiator,
        long sent, long notSent, long received, long notConsumed, bool threadJoined);

    [LoggerMessage(EventId = 8, EventName = "ExitStep", Level = LogLevel.Debug,
        Message = "Exit of {Uri}, step '{Step}': {Outcome} in {DurationMilliseconds:0.000} ms ({Detail})")]
    public static partial void ExitStep(ILogger logger, Uri uri, string step, ShutdownOutcome outcome, double durationMilliseconds, string detail);

    [LoggerMessage(EventId = 9, EventName = "ExitThreadNotJoined", Level = LogLevel.Warning,
        Message = "Exit of {Uri}: the loop thread did not end within the join timeout")]
    public static partial void ExitThreadNotJoined(ILogger logger, Uri uri);
}
