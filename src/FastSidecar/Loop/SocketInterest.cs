namespace FastSidecar.Loop;

/// <summary>The readiness a <see cref="SocketRegistration"/> asks the loop to report. Errors and hang-ups are always reported.</summary>
[Flags]
internal enum SocketInterest
{
    None = 0,
    Read = 1,
    Write = 2,
}
