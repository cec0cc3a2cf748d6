using System.CommandLine;

namespace FastSidecar.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("fastsidecar: the FastSidecar WebSocket sidecar, its demo and its stress tools");
        root.Subcommands.Add(AutobahnCommand.Create());
        return root.Parse(args).Invoke();
    }
}
