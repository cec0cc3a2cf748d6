using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// A wss:// peer in another process: Node's <c>ws</c> on an <c>https</c> server (Peers/node/tls-bench-peer.js), with
/// the <c>ws</c> package the interop tests install (tests/FastSidecar.Tests/peers/node, by ./test.sh or <c>npm ci</c>).
/// Serves the given certificate (written as PEM to a temporary folder, deleted on dispose); exits when its standard
/// input closes.
/// </summary>
public sealed class NodeTlsEchoPeer : IDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    public NodeTlsEchoPeer(X509Certificate2 certificate)
    {
        string root = FindRepositoryRoot();
        _folder = Directory.CreateTempSubdirectory("fastsidecar-tls-bench-").FullName;
        string cert = Path.Combine(_folder, "cert.pem");
        string key = Path.Combine(_folder, "key.pem");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        using (ECDsa privateKey = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no ECDSA private key."))
        {
            File.WriteAllText(key, privateKey.ExportPkcs8PrivateKeyPem());
        }

        var info = new ProcessStartInfo("node")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        info.ArgumentList.Add(Path.Combine(root, "bench", "FastSidecar.Benchmarks", "Peers", "node", "tls-bench-peer.js"));
        info.ArgumentList.Add(cert);
        info.ArgumentList.Add(key);
        info.Environment["NODE_PATH"] = Path.Combine(root, "tests", "FastSidecar.Tests", "peers", "node", "node_modules");
        _process = Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
        string? line = _process.StandardOutput.ReadLine();
        if (line is null || !line.StartsWith("LISTENING ", StringComparison.Ordinal))
        {
            _process.Kill();
            Directory.Delete(_folder, recursive: true);
            throw new InvalidOperationException($"node ws TLS peer did not start ('{line}'): run `npm ci` in tests/FastSidecar.Tests/peers/node.");
        }

        Uri = new Uri(string.Create(CultureInfo.InvariantCulture, $"wss://localhost:{int.Parse(line.AsSpan("LISTENING ".Length), CultureInfo.InvariantCulture)}/"));
    }

    public Uri Uri { get; }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill();
        }

        _process.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bench", "FastSidecar.Benchmarks", "Peers", "node", "tls-bench-peer.js")))
            {
                return dir.FullName;
            }
        }

        throw new FileNotFoundException("bench/FastSidecar.Benchmarks/Peers/node/tls-bench-peer.js not found above the current directory.");
    }
}
