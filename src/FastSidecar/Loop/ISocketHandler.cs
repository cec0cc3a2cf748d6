namespace FastSidecar.Loop;

/// <summary>Receives readiness callbacks for one registered socket, always on the loop thread.</summary>
/// <remarks>
/// Readiness is level-triggered: a handler that leaves data unread is called again on the next cycle, and a
/// handler that ignores <see cref="OnError"/> without disposing its registration is called on every cycle.
/// Within one readiness report the order is <see cref="OnReadable"/>, then <see cref="OnWritable"/>, then
/// <see cref="OnError"/>, so that data (and end of stream) that arrived before a hang-up is read before the error
/// is handled. A callback may dispose the registration; later callbacks of the same report are then skipped.
/// </remarks>
internal interface ISocketHandler
{
    /// <summary>The socket has data or end of stream to read. Read until <see cref="System.Net.Sockets.SocketError.WouldBlock"/>, or expect another call.</summary>
    void OnReadable();

    /// <summary>The socket's send buffer has room.</summary>
    void OnWritable();

    /// <summary>The socket reported an error or hang-up. Dispose the registration (or drop all interest) here.</summary>
    void OnError();
}
