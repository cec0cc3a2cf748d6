namespace FastSidecar;

/// <summary>What a <see cref="SidecarLoop"/> does when a duty cycle found no work.</summary>
public enum WaitStrategy
{
    /// <summary>
    /// Park in the readiness wait until a socket is ready, the next timer is due, or a producer wakes the loop; threads
    /// waiting in <c>Receive</c> park at once too. Lowest CPU use; every wake-up of a parked thread pays for a system
    /// call and a thread wake-up. A <c>Send</c> that finds the loop parked in epoll (Linux) writes the frame on the sending thread
    /// (the loop lends it its state) instead of waking the loop, so a request and its answer cost two wake-ups.
    /// </summary>
    Blocking = 0,

    /// <summary>
    /// After the last work, spin by yielding the core (polling sockets between yields) for up to
    /// <see cref="SidecarLoopOptions.SpinDuration"/> while spinning has lately paid, then park as <see cref="Blocking"/>
    /// does; threads waiting in <c>Receive</c> spin the same way. Quick answers are picked up at spinning speed, a
    /// thread woken onto a spinning core (the peer, the application) runs at once, and an idle loop costs no CPU.
    /// </summary>
    SpinThenPark = 1,

    /// <summary>
    /// Never park: poll sockets and queues continuously, yielding the core between polls; threads waiting in
    /// <c>Receive</c> yield until their message comes. Lowest latency; keeps a core busy whenever no other thread wants it.
    /// </summary>
    BusySpin = 2,
}
