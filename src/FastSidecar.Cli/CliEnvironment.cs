using Spectre.Console;

namespace FastSidecar.Cli;

/// <summary>
/// The streams a command talks to. Commands never touch <see cref="System.Console"/> directly, so tests run them
/// in-process against string writers and readers.
/// </summary>
/// <param name="Console">Rich output (tables) for stdout.</param>
/// <param name="Progress">Progress and status lines, on stderr so that stdout holds only results.</param>
/// <param name="Out">Plain stdout, for data a user may pipe elsewhere (received messages).</param>
/// <param name="Error">Diagnostics: error lines and the shutdown report of <c>connect</c>.</param>
/// <param name="In">Standard input.</param>
/// <param name="SubscribeInterrupt">
/// Registers a callback for Ctrl+C and returns the registration to dispose; the process default is
/// <see cref="System.Console.CancelKeyPress"/> with the termination cancelled, so the command exits through its own
/// shutdown path.
/// </param>
internal sealed record CliEnvironment(IAnsiConsole Console, IAnsiConsole Progress, TextWriter Out, TextWriter Error, TextReader In, Func<Action, IDisposable> SubscribeInterrupt)
{
    /// <summary>The process's own console.</summary>
    public static CliEnvironment FromProcess() => new(
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) }),
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) }),
        System.Console.Out,
        System.Console.Error,
        System.Console.In,
        static onInterrupt =>
        {
            ConsoleCancelEventHandler handler = (_, e) =>
            {
                e.Cancel = true;
                onInterrupt();
            };
            System.Console.CancelKeyPress += handler;
            return new Unsubscribe(() => System.Console.CancelKeyPress -= handler);
        });

    /// <summary>An environment over in-memory streams: plain text, no colours, no live rendering.</summary>
    public static CliEnvironment ForText(TextWriter output, TextWriter error, TextReader input) => new(
        PlainConsole(output),
        PlainConsole(error),
        output,
        error,
        input,
        static _ => new Unsubscribe(static () => { }));

    private static IAnsiConsole PlainConsole(TextWriter writer) => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(writer),
        Ansi = AnsiSupport.No,
        ColorSystem = ColorSystemSupport.NoColors,
        Interactive = InteractionSupport.No,
    });

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
