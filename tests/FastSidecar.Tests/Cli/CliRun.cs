using FastSidecar.Cli;

namespace FastSidecar.Tests.Cli;

/// <summary>One in-process run of the command line, with everything it wrote.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    public static CliRun Start(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(args, CliEnvironment.ForText(output, error, new StringReader(input)));
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>The error output's non-empty lines.</summary>
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
