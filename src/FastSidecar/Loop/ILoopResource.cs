namespace FastSidecar.Loop;

/// <summary>Something the loop tears down when it stops: a connection, a pending operation, a pooled buffer lease.</summary>
/// <remarks>
/// <see cref="Abort"/> runs on the loop thread during <see cref="SidecarLoop.Stop"/>; it must release whatever the
/// resource holds (dispose its <see cref="SocketRegistration"/> first, then close its socket, then return its buffers)
/// without blocking and without posting work (posts are rejected once the loop is stopping).
/// </remarks>
internal interface ILoopResource
{
    /// <summary>Releases everything abruptly. Called at most once by the loop.</summary>
    void Abort();
}
