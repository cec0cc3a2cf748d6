namespace FastSidecar.Cli;

/// <summary>The process exit codes every command uses.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>The connection failed or broke, or (reinit) something leaked.</summary>
    public const int Failure = 1;

    /// <summary>The command line or its values (a URI, a header) cannot be used.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl+C (SIGINT): 128 + 2, the shell's convention.</summary>
    public const int Interrupted = 130;
}
