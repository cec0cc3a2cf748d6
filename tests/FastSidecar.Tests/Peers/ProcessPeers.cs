namespace FastSidecar.Tests.Peers;

/// <summary>
/// Node's <c>ws</c> echo server (peers/node/echo-server.js). As a class fixture one process serves a test class;
/// <see cref="StartProcess"/> starts a private one.
/// Fragments split raw bytes (text may split inside a UTF-8 sequence); <c>@@ping</c> sends a real ping;
/// bare <c>@@close</c> sends a close frame without a status.
/// </summary>
public sealed class NodeWsPeer : IEchoPeer, IDisposable
{
    private readonly PeerProcess _process = StartProcess();

    /// <inheritdoc />
    public string Name => "node ws";

    /// <inheritdoc />
    public int Port => _process.Port;

    /// <inheritdoc />
    public Uri Uri => _process.Uri;

    /// <inheritdoc />
    public bool SupportsServerPing => true;

    /// <inheritdoc />
    public bool FragmentsSplitUtf8Sequences => true;

    /// <summary>The underlying process (its output helps explain a failure).</summary>
    public PeerProcess Process => _process;

    /// <summary>Starts a Node <c>ws</c> echo peer; the caller disposes it.</summary>
    /// <param name="startTimeout">How long to wait for the process to listen.</param>
    /// <param name="deflate">"1" turns on permessage-deflate for every message; "nocontext" also without context takeover.</param>
    /// <param name="extraArguments">More arguments for the script ("--tls CERT KEY" serves wss://).</param>
    /// <param name="port">The port to listen on; 0 for any free one (a restarted peer passes its old port).</param>
    public static PeerProcess StartProcess(TimeSpan? startTimeout = null, string? deflate = null, IReadOnlyList<string>? extraArguments = null, int port = 0)
    {
        var peers = Path.Combine(AppContext.BaseDirectory, "peers", "node");
        var script = Path.Combine(peers, "echo-server.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"node ws: {script} is missing from the test output; rebuild the test project.");
        }

        // npm installs into the source tree; node looks for packages beside the script, so point it there.
        var environment = new Dictionary<string, string>();
        var modules = FindSourceNodeModules();
        if (modules is not null)
        {
            environment["NODE_PATH"] = modules;
        }

        if (deflate is not null)
        {
            environment["ECHO_DEFLATE"] = deflate;
        }

        if (port != 0)
        {
            environment["ECHO_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return PeerProcess.Start("node ws", "node", [script, .. extraArguments ?? []], startTimeout, environment);
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();

    private static string? FindSourceNodeModules()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FastSidecar.Tests.csproj")))
            {
                var modules = Path.Combine(dir.FullName, "peers", "node", "node_modules");
                return Directory.Exists(modules) ? modules : null;
            }
        }

        return null;
    }
}

/// <summary>
/// Python <c>websockets</c> echo server (peers/python/echo_server.py) run by Debian's /usr/bin/python3.
/// As a class fixture one process serves a test class; <see cref="StartProcess"/> starts a private one.
/// <c>@@fragment:n</c> gives n frames, the last an empty FIN continuation (the library always ends that way), and text
/// splits between characters; <c>@@ping</c> sends a real ping; bare <c>@@close</c> closes with 1000.
/// </summary>
public sealed class PythonWebSocketsPeer : IEchoPeer, IDisposable
{
    /// <summary>The interpreter Debian's python3-websockets is installed for.</summary>
    public const string Python = "/usr/bin/python3";

    private readonly PeerProcess _process = StartProcess();

    /// <inheritdoc />
    public string Name => "python websockets";

    /// <inheritdoc />
    public int Port => _process.Port;

    /// <inheritdoc />
    public Uri Uri => _process.Uri;

    /// <inheritdoc />
    public bool SupportsServerPing => true;

    /// <inheritdoc />
    public bool FragmentsSplitUtf8Sequences => false;

    /// <summary>The underlying process (its output helps explain a failure).</summary>
    public PeerProcess Process => _process;

    /// <summary>Starts a Python <c>websockets</c> echo peer; the caller disposes it.</summary>
    /// <param name="startTimeout">How long to wait for the process to listen.</param>
    /// <param name="deflate">True to serve with the library's default permessage-deflate.</param>
    /// <param name="extraArguments">More arguments for the script ("--tls CERT KEY" serves wss://).</param>
    public static PeerProcess StartProcess(TimeSpan? startTimeout = null, bool deflate = false, IReadOnlyList<string>? extraArguments = null)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "peers", "python", "echo_server.py");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"python websockets: {script} is missing from the test output; rebuild the test project.");
        }

        var environment = new Dictionary<string, string> { ["PYTHONDONTWRITEBYTECODE"] = "1", ["PYTHONUNBUFFERED"] = "1" };
        if (deflate)
        {
            environment["ECHO_DEFLATE"] = "1";
        }

        return PeerProcess.Start("python websockets", Python, ["-I", script, .. extraArguments ?? []], startTimeout, environment);
    }

    /// <inheritdoc />
    public void Dispose() => _process.Dispose();
}

/// <summary>
/// A process peer serving wss:// with <see cref="Tls.TestCertificates.Localhost"/> (written as PEM files to a temporary
/// folder the peer deletes on dispose); clients trust exactly that certificate.
/// </summary>
public abstract class TlsProcessPeer : IEchoPeer, IDisposable
{
    private readonly string _folder;
    private readonly PeerProcess _process;

    protected TlsProcessPeer(Func<IReadOnlyList<string>, PeerProcess> start)
    {
        (string cert, string key) = Tls.TestCertificates.WritePem(Tls.TestCertificates.Localhost);
        _folder = Path.GetDirectoryName(cert)!;
        _process = start(["--tls", cert, key]);
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public int Port => _process.Port;

    /// <inheritdoc />
    public Uri Uri => new($"wss://localhost:{Port}/");

    /// <inheritdoc />
    public abstract bool SupportsServerPing { get; }

    /// <inheritdoc />
    public abstract bool FragmentsSplitUtf8Sequences { get; }

    /// <inheritdoc />
    public System.Net.Security.SslClientAuthenticationOptions? ClientTls => Tls.TestCertificates.Trusting(Tls.TestCertificates.Localhost);

    /// <inheritdoc />
    public void Dispose()
    {
        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>Node's <c>ws</c> on an <c>https</c> server.</summary>
public sealed class NodeWsTlsPeer() : TlsProcessPeer(args => NodeWsPeer.StartProcess(extraArguments: args))
{
    /// <inheritdoc />
    public override string Name => "node ws over https";

    /// <inheritdoc />
    public override bool SupportsServerPing => true;

    /// <inheritdoc />
    public override bool FragmentsSplitUtf8Sequences => true;
}

/// <summary>Python <c>websockets</c> with an <c>ssl</c> context.</summary>
public sealed class PythonWebSocketsTlsPeer() : TlsProcessPeer(args => PythonWebSocketsPeer.StartProcess(extraArguments: args))
{
    /// <inheritdoc />
    public override string Name => "python websockets over ssl";

    /// <inheritdoc />
    public override bool SupportsServerPing => true;

    /// <inheritdoc />
    public override bool FragmentsSplitUtf8Sequences => false;
}
