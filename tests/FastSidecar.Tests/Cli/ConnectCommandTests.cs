using System.Net;
using System.Net.Sockets;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Cli;

public sealed class ConnectCommandTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    [Fact]
    public void Lines_of_input_go_out_as_text_and_their_echoes_are_printed()
    {
        CliRun run = CliRun.Start("hello\nsecond line\n", "connect", fixture.Server.Uri.ToString(), "--linger-ms", "2000");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["hello", "second line"], run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("close the WebSocket", run.Error, StringComparison.Ordinal);
        Assert.Contains("messages sent 2", run.Error.Replace("|", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_refused_connection_prints_one_line_and_exits_1()
    {
        CliRun run = CliRun.Start("", "connect", RefusedUri());

        Assert.Equal(1, run.ExitCode);
        Assert.Single(run.ErrorLines);
        Assert.StartsWith("fastsidecar connect: cannot connect", run.ErrorLines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Wss_prints_one_line_and_a_non_zero_code()
    {
        CliRun run = CliRun.Start("", "connect", "wss://127.0.0.1:1/");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Single(run.ErrorLines);
        Assert.Contains("wss://", run.ErrorLines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a uri")]
    [InlineData("http://127.0.0.1/")]
    [InlineData("/relative/path")]
    public void A_malformed_uri_exits_2(string uri)
    {
        CliRun run = CliRun.Start("", "connect", uri);

        Assert.Equal(2, run.ExitCode);
        Assert.Single(run.ErrorLines);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_without_a_colon_exits_2()
    {
        CliRun run = CliRun.Start("", "connect", fixture.Server.Uri.ToString(), "--header", "no-colon-here");

        Assert.Equal(2, run.ExitCode);
        Assert.Single(run.ErrorLines);
    }

    [Fact]
    public void A_missing_uri_is_a_usage_error()
    {
        CliRun run = CliRun.Start("", "connect");

        Assert.Equal(2, run.ExitCode);
    }

    private static string RefusedUri()
    {
        // Bound but not listening for the duration of the test: the connect is refused.
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return $"ws://127.0.0.1:{((IPEndPoint)bound.LocalEndPoint!).Port}/";
    }
}
