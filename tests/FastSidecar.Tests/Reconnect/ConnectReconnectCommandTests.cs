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
            accepted = SpinWait.SpinUntil(() => relay.Accepted == 1, TimeSpan.FromSeconds(10));
            Thread.Sleep(300); // the subscription and both messages have been echoed
            relay.CutAll();
        });
        cut.Start();

        CliRun run = CliRun.Start("", "connect", relay.UriFor().ToString(), "--reconnect", "--reconnect-max-ms", "50",
            "--subscribe", "sub", "-x", "a", "-x", "b", "--wait-ms", "1500");
        cut.Join();
        Assert.True(accepted);

        Assert.True(run.ExitCode == 0, run.Error);
        Assert.True(run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) is ["sub", "a", "b", "sub"], run.Output + run.Error);
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
