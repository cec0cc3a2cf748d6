using System.CommandLine;

namespace FastSidecar.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        var root = new RootCommand("fastsidecar: the FastSidecar WebSocket sidecar, its demo and its stress tools");
        return root.Parse(args).Invoke();
    }
}
