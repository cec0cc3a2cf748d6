using System.Diagnostics;
using FastSidecar.Connection;

namespace FastSidecar.Diagnostics;

/// <summary>Turns a <see cref="ShutdownReport"/> into log lines, <c>fastsidecar.exit.duration</c> measurements and activity tags.</summary>
internal static class ExitReporting
{
    public static void Report(ClientConnection connection, ShutdownReport report, Activity? activity)
    {
        int? code = report.CloseCode is { } c ? (int)c : null;
        if (SidecarMetrics.ExitDuration.Enabled)
        {
            foreach (ShutdownStep step in report.Steps)
            {
                SidecarMetrics.ExitDuration.Record(step.Duration.TotalSeconds,
                    new KeyValuePair<string, object?>("fastsidecar.exit.step", step.Name),
                    new KeyValuePair<string, object?>("fastsidecar.exit.outcome", OutcomeName(step.Outcome)));
            }

            SidecarMetrics.ExitDuration.Record(report.Total.TotalSeconds,
                new KeyValuePair<string, object?>("fastsidecar.exit.step", "total"),
                new KeyValuePair<string, object?>("fastsidecar.exit.outcome", report.ThreadJoined ? "completed" : "timed_out"));
        }

        if (activity is not null)
        {
            activity.SetTag("url.full", connection.Uri.ToString());
            activity.SetTag("websocket.close.code", code);
            activity.SetTag("websocket.close.reason", report.CloseReason);
            activity.SetTag("fastsidecar.close.initiator", report.CloseInitiator.ToWord());
            activity.SetTag("fastsidecar.thread_joined", report.ThreadJoined);
            foreach (ShutdownStep step in report.Steps)
            {
                activity.AddEvent(new ActivityEvent(step.Name, tags: new ActivityTagsCollection
                {
                    ["fastsidecar.exit.outcome"] = OutcomeName(step.Outcome),
                    ["fastsidecar.exit.duration_ms"] = step.Duration.TotalMilliseconds,
                    ["fastsidecar.exit.detail"] = step.Detail,
                }));
            }

            if (!report.ThreadJoined)
            {
                activity.SetStatus(ActivityStatusCode.Error, "the loop thread did not end within the join timeout");
            }
        }

        foreach (ShutdownStep step in report.Steps)
        {
            SidecarLog.ExitStep(connection.Logger, connection.Uri, step.Name, step.Outcome, step.Duration.TotalMilliseconds, step.Detail);
        }

        if (!report.ThreadJoined)
        {
            SidecarLog.ExitThreadNotJoined(connection.Logger, connection.Uri);
        }

        SidecarLog.Exited(connection.Logger, connection.Uri, report.Total.TotalMilliseconds, code, report.CloseReason, report.CloseInitiator,
            report.MessagesSent, report.MessagesNotSent, report.MessagesReceived, report.MessagesNotConsumed, report.ThreadJoined);
    }

    private static string OutcomeName(ShutdownOutcome outcome) => outcome switch
    {
        ShutdownOutcome.Completed => "completed",
        ShutdownOutcome.TimedOut => "timed_out",
        ShutdownOutcome.Skipped => "skipped",
        ShutdownOutcome.Failed => "failed",
        _ => "other",
    };
}
