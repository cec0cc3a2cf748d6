using System.CommandLine;
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
        RootCommand root = BuildRoot(environment);
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

    public static RootCommand BuildRoot(CliEnvironment environment) => new("fastsidecar: the FastSidecar WebSocket client, its demo and its stress tools")
    {
        DemoCommand.Create(environment),
        ConnectCommand.Create(environment),
        ReinitCommand.Create(environment),
        AutobahnCommand.Create(),
    };
}
