using System.Globalization;
using System.Text;
using FastSidecar.Benchmarks.Contenders;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>Writes the round-trip and seed's-use tables of stress.md: per peer, ratios to ClientWebSocket and the floors, verdicts against issue 12.</summary>
internal static class RoundTripReport
{
    public static void Write(StringBuilder md, IReadOnlyList<string> peers, Dictionary<(string Peer, ContenderKind Kind), LatencySummary> s, string load)
    {
        md.AppendLine("## (a) 64-byte echo round trip (µs), three peers").AppendLine();
        md.AppendLine(Invariant($"Load average at the end: {load}. All contenders and peers interleaved block by block in one run. Floor = the better raw floor (busy-poll or blocking) of the same peer; CWS = ClientWebSocket sync.")).AppendLine();
        md.AppendLine("| peer | contender | count | p50 | p90 | p99 | p99.9 | max | p50 / CWS | p99 / CWS | p50 / floor |");
        md.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (string peer in peers)
        {
            LatencySummary cws = s[(peer, ContenderKind.ClientWebSocketSync)];
            double floor = Math.Min(s[(peer, ContenderKind.RawBusyPoll)].P50, s[(peer, ContenderKind.RawBlocking)].P50);
            foreach (ContenderKind kind in Enum.GetValues<ContenderKind>())
            {
                LatencySummary x = s[(peer, kind)];
                md.AppendLine(Invariant($"| {peer} | {kind} | {x.Count:N0} | {x.P50:0.0} | {x.P90:0.0} | {x.P99:0.0} | {x.P999:0.0} | {x.Max:0.0} | {x.P50 / cws.P50:0.00} | {x.P99 / cws.P99:0.00} | {x.P50 / floor:0.00} |"));
            }
        }

        md.AppendLine().AppendLine("Verdicts against issue 12 (default = SpinThenPark):").AppendLine();
        md.AppendLine("| peer | default p50 ≤ 0.8 × CWS | default p50 ≤ 1.2 × floor | default p99 ≤ 1.0 × CWS | Blocking p50 ≤ 1.0 × CWS | BusySpin p50 ≤ 1.05 × floor |");
        md.AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (string peer in peers)
        {
            LatencySummary cws = s[(peer, ContenderKind.ClientWebSocketSync)];
            double floor = Math.Min(s[(peer, ContenderKind.RawBusyPoll)].P50, s[(peer, ContenderKind.RawBlocking)].P50);
            LatencySummary d = s[(peer, ContenderKind.SidecarSpinThenPark)];
            LatencySummary b = s[(peer, ContenderKind.SidecarBlocking)];
            LatencySummary spin = s[(peer, ContenderKind.SidecarBusySpin)];
            md.AppendLine(Invariant($"| {peer} | {Verdict(d.P50 / cws.P50, 0.8)} | {Verdict(d.P50 / floor, 1.2)} | {Verdict(d.P99 / cws.P99, 1.0)} | {Verdict(b.P50 / cws.P50, 1.0)} | {Verdict(spin.P50 / floor, 1.05)} |"));
        }

        md.AppendLine().AppendLine("Plot (blocking server): `roundtrip-latency.png`.").AppendLine();
    }

    public static void WriteSeedUse(StringBuilder md, SeedUseStress.Result r)
    {
        md.AppendLine("## (f) The seed's use: CPU work beside the connection").AppendLine();
        md.AppendLine(Invariant($"{r.Messages:N0} × (≈ {r.WorkMicroseconds:0.0} µs of CPU work on the application thread, send 64 B, take what came back without waiting), then wait for the last echoes; {r.Rounds} interleaved rounds; load average at the end: {r.Load}. Ratio = wall time / pure CPU work in the same run.")).AppendLine();
        md.AppendLine("| peer | contender | wall ms | ratio to pure work | verdict |");
        md.AppendLine("| --- | --- | ---: | ---: | --- |");
        foreach ((string peer, Dictionary<string, double> wall) in r.WallMilliseconds)
        {
            double pure = wall[SeedUseStress.PureWork];
            double cws = wall[SeedUseStress.ClientWebSocketName];
            foreach ((string name, double ms) in wall)
            {
                string verdict = name == "Sidecar " + nameof(WaitStrategy.SpinThenPark)
                    ? $"default: ≤ 1.10 × pure {Verdict(ms / pure, 1.10)}, below CWS {(ms < cws ? "met" : "MISSED")}"
                    : name == SeedUseStress.RawOnWorkingThreadName ? "the I/O done by the working thread itself, no protocol work" : "";
                md.AppendLine(Invariant($"| {peer} | {name} | {ms:0.0} | {ms / pure:0.00} | {verdict} |"));
            }
        }

        md.AppendLine();
    }

    private static string Verdict(double ratio, double goal) => Invariant($"{ratio:0.00} {(ratio <= goal ? "met" : "MISSED")}");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
