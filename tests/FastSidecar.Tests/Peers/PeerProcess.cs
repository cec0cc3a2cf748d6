using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace FastSidecar.Tests.Peers;

/// <summary>
/// An echo peer running as a child process. It prints <c>LISTENING &lt;port&gt;</c> when ready and exits when its
/// standard input closes, so even a test host that dies without disposing it does not leak the process.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    /// <summary>Exit code the peer scripts use when their WebSocket package cannot be imported.</summary>
    public const int MissingPackageExitCode = 3;

    private const string InstallHint = "Run ./test.sh from the repository root: it installs Node's ws (npm ci) and Debian's python3-websockets.";
    private const int MaxLogChars = 64 * 1024;

    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly TaskCompletionSource<int> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private PeerProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    /// <summary>Short name used in messages.</summary>
    public string Name { get; }

    /// <summary>The loopback port from the peer's <c>LISTENING</c> line.</summary>
    public int Port { get; private set; }

    /// <summary><c>ws://127.0.0.1:port/</c>.</summary>
    public Uri Uri => new(string.Create(CultureInfo.InvariantCulture, $"ws://127.0.0.1:{Port}/"));

    /// <summary>The child's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>True once the child has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>What the child printed so far (stdout and stderr, the last 64 KiB), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/> and waits for its <c>LISTENING &lt;port&gt;</c> line.
    /// Throws <see cref="InvalidOperationException"/> (telling the reader to run ./test.sh) when the runtime or the
    /// WebSocket package is missing, and <see cref="TimeoutException"/> when the line does not come in time.
    /// </summary>
    public static PeerProcess Start(
        string name,
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? startTimeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var peer = new PeerProcess(name, process);
        process.OutputDataReceived += (_, e) => peer.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => peer.OnLine(e.Data, isError: true);
        process.Exited += (_, _) => peer.OnExited();
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new InvalidOperationException($"{name}: cannot start '{fileName}' ({ex.Message}). {InstallHint}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var timeout = startTimeout ?? TimeSpan.FromSeconds(30);
        try
        {
            if (!peer._listening.Task.Wait(timeout))
            {
                throw new TimeoutException($"{name}: no 'LISTENING <port>' line within {timeout.TotalSeconds:0.#} s. Output so far:\n{peer.Output}");
            }

            peer.Port = peer._listening.Task.Result;
            return peer;
        }
        catch (AggregateException ex) when (ex.InnerException is not null)
        {
            peer.Dispose();
            throw ex.InnerException;
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    /// <summary>Closes the child's stdin and kills its whole process tree; waits for it to exit.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            // The child is already gone; killing below is then a no-op.
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.WaitForExit(5000);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // Exited between the check and the kill.
        }

        _process.Dispose();
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            if (_log.Length > MaxLogChars)
            {
                _log.Remove(0, _log.Length - (MaxLogChars / 2));
            }

            _log.Append(isError ? "[stderr] " : "[stdout] ").Append(line).Append('\n');
        }

        if (!isError && line.StartsWith("LISTENING ", StringComparison.Ordinal)
            && int.TryParse(line.AsSpan("LISTENING ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            _listening.TrySetResult(port);
        }
    }

    private void OnExited()
    {
        if (_listening.Task.IsCompleted || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        int code;
        try
        {
            // Without a timeout this also waits for the redirected streams to reach EOF, so Output is complete.
            _process.WaitForExit();
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            return;
        }

        var message = code == MissingPackageExitCode
            ? $"{Name}: the peer's WebSocket package is missing. {InstallHint}\n{Output}"
            : $"{Name}: exited with code {code} before listening.\n{Output}";
        _listening.TrySetException(new InvalidOperationException(message));
    }
}
