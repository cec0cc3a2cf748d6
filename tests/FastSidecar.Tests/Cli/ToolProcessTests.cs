using System.Reflection;
using FastSidecar.Testing;
using FastSidecar.Tests.Facade;

namespace FastSidecar.Tests.Cli;

/// <summary>The built tool run as a separate process, as a user runs it: exit codes and what it prints where.</summary>
public sealed class ToolProcessTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Fact]
    public void Usage_lines_name_the_tool_fastsidecar()
    {
        var root = CliProcess.Run("", "--help");
        Assert.Equal(0, root.ExitCode);
        Assert.Contains("fastsidecar [command] [options]", root.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("FastSidecar.Cli", root.Output, StringComparison.Ordinal);

        var connect = CliProcess.Run("", "connect", "--help");
        Assert.Equal(0, connect.ExitCode);
        Assert.Contains("fastsidecar connect <uri> [options]", connect.Output, StringComparison.Ordinal);
        foreach (string option in new[] { "-x, --execute", "--wait-ms", "-H, --header", "-s, --subprotocol", "-b, --binary", "-q, --quiet" })
        {
            Assert.Contains(option, connect.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_tool_has_the_library_version()
    {
        string library = typeof(SidecarWebSocket).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var run = CliProcess.Run("", "--version");
        Assert.Equal(0, run.ExitCode);
        Assert.StartsWith("0.1.0", run.Output.Trim(), StringComparison.Ordinal);
        Assert.Equal(library.Split('+')[0], run.Output.Trim().Split('+')[0]);
    }

    [Fact]
    public void Execute_sends_each_message_prints_the_replies_and_exits_0_quietly()
    {
        var run = CliProcess.Run("", "connect", fixture.Server.Uri.ToString(), "-x", "hello", "-x", "{\"a\":1}", "--wait-ms", "500", "--quiet");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(["hello", "{\"a\":1}"], Lines(run.Output));
        Assert.Equal("", run.Error);
    }

    [Fact]
    public void Binary_sends_binary_messages()
    {
        var run = CliProcess.Run("", "connect", fixture.Server.Uri.ToString(), "--binary", "-x", "abc", "-w", "500", "-q");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(["[binary 3 bytes] 616263"], Lines(run.Output));
    }

    [Fact]
    public void Headers_and_subprotocols_take_their_short_forms_and_the_report_goes_to_standard_error()
    {
        var run = CliProcess.Run("line\n", "connect", fixture.Server.Uri.ToString(), "-H", "X-Trace: 1", "-s", "chat", "--linger-ms", "500");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(["line"], Lines(run.Output));
        Assert.Contains("connected to", run.Error, StringComparison.Ordinal);
        Assert.Contains("join the thread", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_normal_close_by_the_peer_is_reported_as_a_close_and_exits_0()
    {
        var run = CliProcess.Run("", "connect", fixture.Server.UriFor(EchoServerFault.CloseAfterEcho).ToString(), "-x", "one", "-w", "2000");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Equal(["one"], Lines(run.Output));
        Assert.Contains("closed by the peer: 1001", run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("fault", run.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_broken_connection_exits_1()
    {
        var run = CliProcess.Run("", "connect", fixture.Server.UriFor(EchoServerFault.Reset).ToString(), "-x", "boom", "-w", "2000", "-q");
        Assert.Equal(1, run.ExitCode);
        Assert.Contains("fastsidecar connect: the connection ended", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_option_value_exits_2()
    {
        var run = CliProcess.Run("", "connect", fixture.Server.Uri.ToString(), "--wait-ms", "-5", "-x", "a");
        Assert.Equal(2, run.ExitCode);
    }

    [Fact]
    public void Ctrl_C_exits_130()
    {
        using CliProcess cli = CliProcess.Start("connect", fixture.Server.Uri.ToString());
        Assert.True(cli.WaitForError("connected to", TimeSpan.FromSeconds(60)), cli.Error);
        cli.Interrupt();
        Assert.Equal(130, cli.WaitForExit());
        Assert.Contains("join the thread", cli.Error, StringComparison.Ordinal); // it still exited through Exit
    }
}

/// <summary>Demo and reinit count threads and time round trips: they run alone, beside the other resource counters.</summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class ToolProcessMeasuringTests
{
    [Fact]
    public void Demo_puts_results_on_standard_output_with_a_ClientWebSocket_row_and_says_how_to_read_them()
    {
        var run = CliProcess.Run("", "demo", "--round-trips", "300", "--warmup", "100", "--block", "100", "--messages", "2000");
        Assert.True(run.ExitCode == 0, run.Error);
        Assert.Contains("ClientWebSocket", run.Output, StringComparison.Ordinal);
        Assert.Contains("raw floor", run.Output, StringComparison.Ordinal);
        Assert.Contains("÷ CWS", run.Output, StringComparison.Ordinal);
        Assert.Contains("in this same process", run.Output, StringComparison.Ordinal);
        Assert.Contains("below 1.00× FastSidecar is faster", run.Output, StringComparison.Ordinal);
        // Progress and warnings are not results: none of them on standard output.
        Assert.DoesNotContain("warm-up", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("measuring Exit", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("warning:", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Reinit_prints_its_census_once()
    {
        var run = CliProcess.Run("", "reinit", "--cycles", "20", "--warmup", "5", "--fault", "none");
        Assert.True(run.ExitCode == 0, run.Output + run.Error);
        Assert.DoesNotContain("census", run.Output + run.Error, StringComparison.Ordinal);
        Assert.Single(run.Output.Split('\n'), line => line.Contains("Leaks (", StringComparison.Ordinal));
    }
}
