using System.Buffers;
using System.Net;
using System.Net.Sockets;
using FastSidecar.Loop.Interop;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Connection;

/// <summary>
/// The first steps of a plain <c>ws://</c> connection, taken on the connecting thread before the loop has it: the TCP
/// connect to the first address and, when that has completed already (loopback, a near peer), the upgrade request.
/// The server then answers while the loop thread is still starting (or waking), instead of after.
/// </summary>
/// <remarks>
/// <para>
/// Why: starting a loop thread costs the connecting thread a few scheduling hand-offs (the runtime waits for the new
/// thread to run before it lets it go), and a parked shared loop has to be woken. Doing the two system calls that need
/// no loop first lets the peer's work overlap that wait. Nothing that needs the loop happens here: no readiness
/// registration, no timer, no read; the loop takes over through <see cref="EndpointConnector"/> and finds either a
/// connected socket with the request sent, or an attempt still pending (then it watches it as its own), or a failed one.
/// </para>
/// <para>
/// Only for names that need no resolver (<see cref="HostLookup.TryAnswerLocally"/>), without a proxy, and where
/// <c>connect(2)</c> reports a pending connect without an exception (<see cref="LinuxSocket"/>). TLS starts on the loop.
/// </para>
/// <para>
/// Ownership: the attempt (and its socket) belongs to this object until <see cref="TakeAttempt"/> hands it to the
/// connector on the loop thread; a connection that never reaches its loop calls <see cref="Dispose"/>, which closes it.
/// </para>
/// </remarks>
internal sealed class EarlyConnect : IDisposable
{
    private ConnectAttempt? _attempt;

    private EarlyConnect(IPAddress[] addresses, ConnectAttempt attempt, SocketError started)
    {
        Addresses = addresses;
        _attempt = attempt;
        Started = started;
    }

    /// <summary>Every address to try, in RFC 8305 order; the attempt is to the first.</summary>
    public IPAddress[] Addresses { get; }

    /// <summary>How the attempt stands: <see cref="SocketError.Success"/> (connected), <see cref="SocketError.InProgress"/>, or its error.</summary>
    public SocketError Started { get; private set; }

    /// <summary>True when the upgrade request went out (all of it but <see cref="UnsentRequest"/>); the session then waits for the answer.</summary>
    public bool RequestSent { get; private set; }

    /// <summary>The end of the request the socket did not take at once (almost always empty): the session writes it.</summary>
    public byte[] UnsentRequest { get; private set; } = [];

    /// <summary>
    /// Connects and sends the request of <paramref name="handshake"/> if it can; null when this connection cannot start
    /// early (the loop then does everything, as before).
    /// </summary>
    public static EarlyConnect? TryStart(string host, int port, ClientHandshake handshake)
    {
        if (!LinuxSocket.IsSupported
            || !HostLookup.TryAnswerLocally(host, out IPAddress[] resolved, out SocketError lookupError)
            || lookupError != SocketError.Success)
        {
            return null;
        }

        IPAddress[] addresses = EndpointOrder.Interleave(resolved);
        if (addresses.Length == 0)
        {
            return null; // the connector words this failure
        }

        var attempt = new ConnectAttempt(loop: null, owner: null, new IPEndPoint(addresses[0], port));
        var early = new EarlyConnect(addresses, attempt, attempt.Open());
        if (early.Started is SocketError.Success or SocketError.InProgress)
        {
            early.SendRequest(handshake);
        }

        return early;
    }

    /// <summary>Hands the attempt to <paramref name="owner"/> on <paramref name="loop"/> (loop thread); this object owns nothing after it.</summary>
    public ConnectAttempt TakeAttempt(SidecarLoop loop, EndpointConnector owner)
    {
        ConnectAttempt attempt = _attempt ?? throw new InvalidOperationException("The early attempt was taken already.");
        _attempt = null;
        attempt.Adopt(loop, owner);
        return attempt;
    }

    /// <summary>Runs <paramref name="create"/>; if it throws, closes <paramref name="early"/> first (nobody else will).</summary>
    public static T ClosedIfThrows<T>(EarlyConnect? early, Func<T> create)
    {
        try
        {
            return create();
        }
        catch
        {
            early?.Dispose();
            throw;
        }
    }

    /// <summary>Closes the attempt if nobody took it.</summary>
    public void Dispose()
    {
        _attempt?.Dispose();
        _attempt = null;
    }

    private void SendRequest(ClientHandshake handshake)
    {
        Socket socket = _attempt!.Socket!;
        int length = handshake.RequestLength;
        byte[] request = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            handshake.WriteRequest(request.AsSpan(0, length));
            // A connect still pending answers EAGAIN and sends nothing. A failed one answers with its error, which the
            // kernel then clears from SO_ERROR: it is kept here, since the loop could no longer read it.
            int sent = socket.Send(request, 0, length, SocketFlags.None, out SocketError error);
            if (error == SocketError.Success && sent > 0)
            {
                Started = SocketError.Success;
                RequestSent = true;
                // A fresh connection's send buffer takes a request whole; a huge one (many extra headers) may not fit.
                UnsentRequest = sent == length ? [] : request.AsSpan(sent, length - sent).ToArray();
            }
            else if (error is not (SocketError.WouldBlock or SocketError.Interrupted))
            {
                Started = error;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(request);
        }
    }
}
