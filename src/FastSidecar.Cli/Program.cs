using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace FastSidecar.Cli;

/// <summary>
/// Composes the commands; each command lives in its own class with a <c>Create</c> factory and knows nothing of the
/// others.
/// </summary>
internal static class Program
{
    private static int Main(string[] args) => Run(args, CliEnvironment.FromProcess());

    /// <summary>Parses and runs one command line against <paramref name="environment"/>; returns the exit code.</summary>
    public static int Run(string[] args, CliEnvironment environment)
    {
        Command root = BuildRoot(environment);
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            foreach (ParseError error in parsed.Errors)
            {
                environment.Error.WriteLine("fastsidecar: " + error.Message);
            }

            environment.Error.WriteLine("Run 'fastsidecar --help' for usage.");
            return ExitCodes.Usage;
        }

        return parsed.Invoke(new InvocationConfiguration { Output = environment.Out, Error = environment.Error });
    }

    /// <summary>
    /// The root is a plain command named <c>fastsidecar</c> rather than a <see cref="RootCommand"/>, whose name is the
    /// executable's file name: run as a .NET tool or through <c>dotnet FastSidecar.Cli.dll</c>, that is
    /// <c>FastSidecar.Cli</c>, and every usage line would say so. Help and version are added as a root adds them.
    /// </summary>
    public static Command BuildRoot(CliEnvironment environment) => new("fastsidecar",
        "fastsidecar: the FastSidecar WebSocket client, its demo and its stress tools. Durations are in milliseconds (options ending in -ms).")
    {
        new HelpOption(),
        new VersionOption(),
        DemoCommand.Create(environment),
        ConnectCommand.Create(environment),
        ReinitCommand.Create(environment),
        AutobahnCommand.Create(),
    };
}
