using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace FastSidecar.Tests.Cli;

/// <summary>
/// The built tool run as a user runs it: a separate process (<c>dotnet FastSidecar.Cli.dll</c>, the assembly the tool
/// package installs), with its exit code and both output streams.
/// </summary>
internal sealed partial class CliProcess : IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private CliProcess(Process process)
    {
        _process = process;
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>Runs the tool to the end with <paramref name="input"/> as standard input (closed after it).</summary>
    public static (int ExitCode, string Output, string Error) Run(string input, params string[] args)
    {
        using CliProcess cli = Start(args);
        cli._process.StandardInput.Write(input);
        cli._process.StandardInput.Close();
        int code = cli.WaitForExit();
        return (code, cli.Output, cli.Error);
    }

    /// <summary>Starts the tool and leaves standard input open.</summary>
    public static CliProcess Start(params string[] args)
    {
        string dll = ToolAssembly();
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        info.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info };
        var cli = new CliProcess(process);
        process.OutputDataReceived += (_, e) => Append(cli._output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(cli._error, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return cli;
    }

    /// <summary>
    /// The tool's own build output (src/FastSidecar.Cli/bin/&lt;configuration&gt;/&lt;framework&gt;), not the copy beside the
    /// tests: this test project also references the ASP.NET Core shared framework, which supplies the Microsoft.Extensions
    /// assemblies here instead of copies, and the tool runs on the base framework alone, as it does once installed.
    /// </summary>
    private static string ToolAssembly()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = testBin.Name;
        string configuration = testBin.Parent!.Name;
        DirectoryInfo? root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "FastSidecar.sln")))
        {
            root = root.Parent;
        }

        string dll = Path.Combine(root?.FullName ?? ".", "src", "FastSidecar.Cli", "bin", configuration, framework, "FastSidecar.Cli.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the solution first: the tool's output is missing.", dll);
    }

    /// <summary>Waits until standard error contains <paramref name="text"/>.</summary>
    public bool WaitForError(string text, TimeSpan timeout) =>
        SpinWait.SpinUntil(() => Error.Contains(text, StringComparison.Ordinal) || _process.HasExited, timeout) && Error.Contains(text, StringComparison.Ordinal);

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    public void Interrupt()
    {
        if (Kill(_process.Id, SigInt) != 0)
        {
            throw new InvalidOperationException($"kill(SIGINT) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public int WaitForExit()
    {
        if (!_process.WaitForExit(s_deadline))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"fastsidecar did not exit within {s_deadline}. stdout: {Output} stderr: {Error}");
        }

        _process.WaitForExit(); // drains the asynchronous readers
        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder builder, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (builder)
        {
            builder.Append(line).Append('\n');
        }
    }

    private const int SigInt = 2;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
