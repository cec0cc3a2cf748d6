using System.Globalization;
using Spectre.Console;

namespace FastSidecar.Cli;

/// <summary>Renders a <see cref="ShutdownReport"/>: one row per step, then the close status and the fate of the messages.</summary>
internal static class ShutdownTable
{
    public static Table Create(ShutdownReport report)
    {
        var table = new Table { Title = new TableTitle("Exit (shutdown protocol)") }
            .AddColumn("step")
            .AddColumn(new TableColumn("duration").RightAligned())
            .AddColumn("outcome")
            .AddColumn("detail");
        foreach (ShutdownStep step in report.Steps)
        {
            table.AddRow(Markup.Escape(step.Name), FormatDuration(step.Duration), step.Outcome.ToString(), Markup.Escape(step.Detail));
        }

        table.AddRow("[bold]total[/]", "[bold]" + FormatDuration(report.Total) + "[/]", report.ThreadJoined ? "thread joined" : "[red]thread not joined[/]", "");
        table.Caption = new TableTitle(Markup.Escape(Summary(report)));
        return table;
    }

    /// <summary>The non-step facts of the report, on one line.</summary>
    public static string Summary(ShutdownReport report)
    {
        string close = report.CloseCode is { } code
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)code} {code}") + (string.IsNullOrEmpty(report.CloseReason) ? "" : $" \"{report.CloseReason}\"")
            : "none";
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"close {close}, initiated by {report.CloseInitiator.ToWord()}; messages sent {report.MessagesSent}, not sent {report.MessagesNotSent}, received {report.MessagesReceived}, not consumed {report.MessagesNotConsumed}");
        // A normal close by the peer is how the connection ended, not a fault: the summary already says who closed.
        bool isFault = report.Fault is not null && !(report.Fault is WebSocketClosedException && report.CloseInitiator == CloseInitiator.Peer);
        return isFault ? summary + $"; fault: {report.Fault!.GetType().Name}: {report.Fault.Message}" : summary;
    }

    public static string FormatDuration(TimeSpan duration) => FormatMicros(duration.Ticks / 10.0);

    public static string FormatMicros(double micros) => micros >= 1_000
        ? (micros / 1_000).ToString("0.000", CultureInfo.InvariantCulture) + " ms"
        : micros.ToString("0.0", CultureInfo.InvariantCulture) + " µs";

    /// <summary>The report as plain data for JSON output.</summary>
    public static ShutdownData ToData(ShutdownReport report) => new(
        [.. report.Steps.Select(s => new ShutdownStepData(s.Name, s.Duration.Ticks / 10.0, s.Outcome.ToString(), s.Detail))],
        report.Total.Ticks / 10.0,
        report.CloseCode is { } code ? (int)code : null,
        report.CloseReason,
        report.CloseInitiator.ToWord(),
        report.MessagesSent,
        report.MessagesNotSent,
        report.MessagesReceived,
        report.MessagesNotConsumed,
        report.ThreadJoined,
        report.Fault?.Message);
}

internal sealed record ShutdownStepData(string Name, double DurationMicros, string Outcome, string Detail);

internal sealed record ShutdownData(IReadOnlyList<ShutdownStepData> Steps, double TotalMicros, int? CloseCode, string? CloseReason, string CloseInitiator,
    long MessagesSent, long MessagesNotSent, long MessagesReceived, long MessagesNotConsumed, bool ThreadJoined, string? Fault);
