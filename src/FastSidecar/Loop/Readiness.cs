namespace FastSidecar.Loop;

/// <summary>What a selector saw for one registered socket in one wait.</summary>
[Flags]
internal enum Readiness
{
    None = 0,
    Readable = 1,
    Writable = 2,

    /// <summary>An error or a hang-up (EPOLLERR / EPOLLHUP); reported whatever the interest.</summary>
    Error = 4,
}

/// <summary>One readiness report: the registration's token (slot and generation) and what is ready.</summary>
internal readonly record struct ReadyEvent(ulong Token, Readiness Readiness);
