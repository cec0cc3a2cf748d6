using System.Diagnostics;
using System.Globalization;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// A peer in another process: Node's <c>ws</c> echo server that the interop tests use
/// (tests/FastSidecar.Tests/peers/node/echo-server.js, with <c>ws</c> installed there by ./test.sh or <c>npm ci</c>).
/// It prints <c>LISTENING port</c> once bound and exits when its standard input closes.
/// </summary>
public sealed class NodeEchoPeer : IDisposable
{
    private readonly Process _process;

    private NodeEchoPeer(Process process, int port)
    {
        _process = process;
        Uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{port}/"));
    }

    public Uri Uri { get; }

    /// <summary>Starts the peer, looking for the script from the current directory upwards (run from the repository).</summary>
    /// <param name="port">The port to listen on; 0 for any free one (a restarted peer passes its old port).</param>
    public static NodeEchoPeer Start(int port = 0)
    {
        string script = FindScript();
        var info = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            WorkingDirectory = Path.GetDirectoryName(script)!,
        };
        info.ArgumentList.Add(script);
        if (port != 0)
        {
            info.Environment["ECHO_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        }

        Process process = Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
        string? line = process.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("LISTENING ", StringComparison.Ordinal))
        {
            process.Kill();
            throw new InvalidOperationException($"node ws peer did not start ('{line}'): run `npm ci` in {Path.GetDirectoryName(script)}.");
        }

        return new NodeEchoPeer(process, int.Parse(line.AsSpan("LISTENING ".Length), CultureInfo.InvariantCulture));
    }

    /// <summary>CPU time the Node process has used so far (all its threads), to tell whether the peer is the limit.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    /// <summary>Kills the process (SIGKILL): its connections die with it, as a crashed server's do.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
        _process.Dispose();
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill();
        }

        _process.Dispose();
    }

    private static string FindScript()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "tests", "FastSidecar.Tests", "peers", "node", "echo-server.js");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("tests/FastSidecar.Tests/peers/node/echo-server.js not found above the current directory.");
    }
}
