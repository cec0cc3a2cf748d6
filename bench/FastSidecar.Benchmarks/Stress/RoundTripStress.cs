using FastSidecar.Benchmarks.Contenders;
using HdrHistogram;

namespace FastSidecar.Benchmarks.Stress;

/// <summary>
/// (a) Round-trip latency of 64-byte echoes for every contender against every peer, in one process. The run is split
/// into blocks; in each block every peer gets every contender once, in a rotating order, so a burst of noise from the
/// shared machine lands on all of them alike. Each turn connects afresh, warms up unmeasured, measures, and
/// disconnects: a busy-spinning loop is never left running while another contender is measured.
/// </summary>
internal static class RoundTripStress
{
    private const int WarmUp = 1_000;

    public static Dictionary<(string Peer, ContenderKind Kind), LongHistogram> Run(StressSettings settings, IReadOnlyList<(string Name, Uri Uri)> peers)
    {
        ContenderKind[] kinds = Enum.GetValues<ContenderKind>().Where(k => settings.OnlyContenders?.Contains(k.ToString()) ?? true).ToArray();
        peers = peers.Where(p => settings.OnlyPeers?.Any(p.Name.StartsWith) ?? true).ToList();
        var histograms = new Dictionary<(string, ContenderKind), LongHistogram>();
        foreach ((string peer, _) in peers)
        {
            foreach (ContenderKind kind in kinds)
            {
                histograms[(peer, kind)] = LatencySummary.NewHistogram();
            }
        }

        byte[] payload = new byte[64];
        Random.Shared.NextBytes(payload);
        int blocks = Math.Max(1, (settings.RoundTrips + settings.BlockSize - 1) / settings.BlockSize);
        for (int block = 0; block < blocks; block++)
        {
            int size = Math.Min(settings.BlockSize, settings.RoundTrips - (block * settings.BlockSize));
            foreach ((string peer, Uri uri) in peers)
            {
                for (int i = 0; i < kinds.Length; i++)
                {
                    ContenderKind kind = kinds[(block + i) % kinds.Length];
                    LongHistogram histogram = histograms[(peer, kind)];
                    using Contender contender = Contender.Create(kind, uri);
                    contender.Prepare(payload);
                    contender.MeasureBlock(WarmUp, static _ => { });
                    contender.MeasureBlock(size, histogram.RecordValue);
                }
            }

            Console.WriteLine($"  round trips: block {block + 1}/{blocks} done (load {MachineLoad.Now()})");
        }

        return histograms;
    }
}
