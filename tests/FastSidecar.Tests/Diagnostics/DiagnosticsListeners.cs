namespace FastSidecar.Tests.Diagnostics;

/// <summary>
/// The meter and the activity source are process-wide: tests that read them exactly run alone, after the parallel
/// collections, so no other test's connection shows up in their counts.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DiagnosticsListeners : ICollectionFixture<Facade.EchoServerFixture>
{
    public const string Name = "Diagnostics (process-wide listeners)";
}
