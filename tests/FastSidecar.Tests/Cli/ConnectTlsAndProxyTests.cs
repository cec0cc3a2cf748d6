using FastSidecar.Testing;
using FastSidecar.Tests.Hostile;
using FastSidecar.Tests.Proxy;
using FastSidecar.Tests.Tls;

namespace FastSidecar.Tests.Cli;

/// <summary><c>fastsidecar connect</c> with <c>--ca</c>, <c>--insecure</c> and <c>--proxy</c>.</summary>
[Collection(HostileServerGroup.Name)]
public sealed class ConnectTlsAndProxyTests
{
    [Fact]
    public void Ca_trusts_that_certificate_and_the_echo_is_printed()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        (string cert, _) = TestCertificates.WritePem(TestCertificates.Localhost);
        try
        {
            CliRun run = CliRun.Start("hello over tls\n", "connect", server.Uri().ToString(), "--ca", cert, "--linger-ms", "2000");
            Assert.Equal(0, run.ExitCode);
            Assert.Equal(["hello over tls"], run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            Assert.DoesNotContain("WARNING", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(cert)!, recursive: true);
        }
    }

    [Fact]
    public void Without_ca_an_untrusted_certificate_fails_in_one_line_naming_the_reason()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        CliRun run = CliRun.Start("", "connect", server.Uri().ToString());
        Assert.Equal(1, run.ExitCode);
        Assert.Single(run.ErrorLines);
        Assert.Contains("CertificateUntrusted", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Insecure_accepts_an_untrusted_certificate_and_prints_a_warning()
    {
        using var server = new TlsTestServer(TestCertificates.Localhost);
        CliRun run = CliRun.Start("unchecked\n", "connect", server.Uri().ToString(), "--insecure", "--linger-ms", "2000");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("unchecked", run.Output, StringComparison.Ordinal);
        Assert.StartsWith("WARNING: --insecure", run.ErrorLines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Proxy_with_credentials_in_the_url_tunnels_through_tinyproxy()
    {
        using var proxy = new TinyproxyProcess("cli", "pa55");
        using var server = new LoopbackEchoServer(WaitStrategy.Blocking);
        CliRun run = CliRun.Start("through the proxy\n", "connect", server.Uri.ToString(), "--proxy", $"http://cli:pa55@127.0.0.1:{proxy.Port}", "--linger-ms", "2000");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("through the proxy", run.Output, StringComparison.Ordinal);

        CliRun refused = CliRun.Start("", "connect", server.Uri.ToString(), "--proxy", $"http://127.0.0.1:{proxy.Port}");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("407", refused.Error, StringComparison.Ordinal);
    }
}
