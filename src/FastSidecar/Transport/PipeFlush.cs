using System.Diagnostics;
using System.IO.Pipelines;

namespace FastSidecar.Transport;

/// <summary>Flushes of the transports' pipes, which never wait: inline schedulers and no pause threshold.</summary>
internal static class PipeFlush
{
    /// <summary>Completes a flush that must already be complete; anything else is a bug in the pipe's options.</summary>
    public static void CompleteSynchronously(ValueTask<FlushResult> flush)
    {
        Debug.Assert(flush.IsCompleted, "pipe flush went asynchronous");
        if (!flush.IsCompletedSuccessfully)
        {
            flush.AsTask().GetAwaiter().GetResult();
        }
    }
}
