using FastSidecar.Testing;
using FastSidecar.Tests.Cli;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Reconnect;

public sealed class ConnectReconnectCommandTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void Connect_with_reconnect_survives_a_cut_and_resubscribes_first()
    {
        using var relay = new TcpRelay(fixture.Server.Port);
        bool accepted = false;
        // A thread of its own: the command blocks this one, and the thread pool may be busy with other tests.
        var cut = new Thread(() =>
        {
            // The server's 101 has gone through: the first connection opens; then give the messages time to be echoed.
            accepted = SpinWait.SpinUntil(() => relay.ForwardedDownstream > 0, TimeSpan.FromSeconds(10));
            Thread.Sleep(300);
            relay.CutAll();
        });
        cut.Start();

        CliRun run = CliRun.Start("", "connect", relay.UriFor().ToString(), "--reconnect", "--reconnect-max-ms", "50",
            "--subscribe", "sub", "-x", "a", "-x", "b", "--wait-ms", "1500");
        cut.Join();
        Assert.True(accepted);

        Assert.True(run.ExitCode == 0, run.Error);
        // Where the cut lands depends on how fast the command got going: the subscription comes first on both
        // connections, and each message is echoed at most once, in order (one written just before the cut is in doubt).
        string[] lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines is ["sub", ..] && lines.Count(l => l == "sub") == 2 && lines.All(l => l is "sub" or "a" or "b")
            && lines.Count(l => l == "a") <= 1 && lines.Count(l => l == "b") <= 1
            && (Array.IndexOf(lines, "a") < Array.IndexOf(lines, "b") || !lines.Contains("a") || !lines.Contains("b")), run.Output + run.Error);
        Assert.Contains("connection lost:", run.Error, StringComparison.Ordinal);
        Assert.Equal(2, relay.Accepted);
    }

    [Fact]
    public void A_negative_reconnect_maximum_exits_2()
    {
        CliRun run = CliRun.Start("", "connect", fixture.Server.Uri.ToString(), "--reconnect", "--reconnect-max-ms", "-1");
        Assert.Equal(2, run.ExitCode);
    }
}
