using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace FastSidecar.Tests.Proxy;

/// <summary>
/// Debian's tinyproxy in the foreground on a free loopback port, with a configuration the test generates: loopback
/// clients only, CONNECT to any port (or only <c>connectPorts</c>), and Basic credentials when given.
/// </summary>
public sealed class TinyproxyProcess : IDisposable
{
    public const string Executable = "/usr/bin/tinyproxy";

    private readonly Process _process;
    private readonly string _folder;

    public TinyproxyProcess(string? user = null, string? password = null, IReadOnlyList<int>? connectPorts = null)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException("tinyproxy is missing. Run ./test.sh from the repository root: it installs Debian's tinyproxy.");
        }

        Port = FreePort();
        _folder = Directory.CreateTempSubdirectory("fastsidecar-tinyproxy-").FullName;
        var config = new List<string>
        {
            $"Port {Port}",
            "Listen 127.0.0.1",
            "Timeout 60",
            "MaxClients 64",
            "Allow 127.0.0.1",
            "DisableViaHeader Yes",
            "LogLevel Info",
            $"LogFile \"{Path.Combine(_folder, "tinyproxy.log")}\"",
            $"PidFile \"{Path.Combine(_folder, "tinyproxy.pid")}\"",
        };
        if (user is not null)
        {
            config.Add($"BasicAuth {user} {password}");
        }

        // Without any ConnectPort line tinyproxy allows CONNECT to every port.
        foreach (int port in connectPorts ?? [])
        {
            config.Add($"ConnectPort {port}");
        }

        string configFile = Path.Combine(_folder, "tinyproxy.conf");
        File.WriteAllLines(configFile, config);
        _process = Process.Start(new ProcessStartInfo(Executable, ["-d", "-c", configFile])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (!Accepts(Port))
        {
            if (_process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new InvalidOperationException($"tinyproxy did not start on port {Port}: {Log()}");
            }

            Thread.Sleep(20);
        }
    }

    public int Port { get; }

    public Uri Uri => new($"http://127.0.0.1:{Port}/");

    /// <summary>tinyproxy's log, to explain a failure.</summary>
    public string Log()
    {
        string file = Path.Combine(_folder, "tinyproxy.log");
        return File.Exists(file) ? File.ReadAllText(file) : "(no log)";
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private static bool Accepts(int port)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
