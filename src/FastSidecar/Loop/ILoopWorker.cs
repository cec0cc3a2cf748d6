namespace FastSidecar.Loop;

/// <summary>A piece of polled work called once per duty cycle on the loop thread (for example draining a send queue).</summary>
/// <remarks>
/// <see cref="DoWork"/> is also called once after the loop has announced that it is about to park, as the final
/// re-check: a producer that publishes to the worker's own queue and then calls <see cref="SidecarLoop.Wake"/> can
/// therefore never be missed (either the re-check sees the item or the producer sees the parked flag).
/// </remarks>
internal interface ILoopWorker
{
    /// <summary>Does a bounded amount of work; returns true when it did any (which resets the loop's back-off).</summary>
    bool DoWork();
}
