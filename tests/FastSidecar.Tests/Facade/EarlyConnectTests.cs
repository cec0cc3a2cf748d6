using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastSidecar.Protocol.Handshake;
using FastSidecar.Tests.Platform;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// The connecting thread connects and sends the upgrade request itself before the loop has the connection, so the
/// server answers while the loop thread starts or wakes. A loop that is busy must therefore not hold the request back,
/// and a loop that never takes the connection must still close its socket. Each test holds the loop on a gate to make
/// "the loop has not run yet" a fact rather than a race.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class EarlyConnectTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    public EarlyConnectTests() =>
        HostCapabilities.Require(HostCapabilities.NativeConnect, "the native connect path (Linux with epoll)");

    [Fact]
    public void The_upgrade_request_reaches_the_server_while_the_loop_is_still_busy()
    {
        using var listener = Listen();
        using var loop = new SidecarLoop();
        using var gate = new ManualResetEventSlim(false);
        HoldLoop(loop, gate);
        int baseline = SidecarDiagnostics.LiveConnections;

        SidecarWebSocket ws = SidecarWebSocket.Start(UriOf(listener), new SidecarOptions { Loop = loop });
        using Socket accepted = listener.Accept();
        accepted.ReceiveTimeout = (int)Generous.TotalMilliseconds;
        (ServerHandshakeRequest request, byte[] requestBytes) = ReadRequest(accepted);

        // The whole request arrived, and the loop has not run a single item for this connection.
        Assert.False(gate.IsSet);
        Assert.Equal(SidecarWebSocketState.Connecting, ws.State);
        Assert.StartsWith("GET / HTTP/1.1\r\n", Encoding.ASCII.GetString(requestBytes), StringComparison.Ordinal);

        var answer = new ArrayBufferWriter<byte>();
        ServerHandshake.WriteAccept(answer, request, subProtocol: null);
        accepted.Send(answer.WrittenSpan);
        gate.Set();
        ws.WaitUntilOpen();
        Assert.Equal(SidecarWebSocketState.Open, ws.State);
        Assert.Equal(baseline + 1, SidecarDiagnostics.LiveConnections); // counted once: when the early attempt made it

        var peer = new Thread(() => AnswerClose(accepted));
        peer.Start();
        ShutdownReport report = ws.Exit();
        Assert.True(peer.Join(Generous));
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(ShutdownOutcome.Completed, report.Steps[1].Outcome);
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
    }

    [Fact]
    public void A_connection_whose_loop_stops_before_taking_it_closes_the_socket_it_connected_early()
    {
        using var listener = Listen();
        var loop = new SidecarLoop();
        using var gate = new ManualResetEventSlim(false);
        HoldLoop(loop, gate);
        int baseline = SidecarDiagnostics.LiveConnections;

        SidecarWebSocket ws = SidecarWebSocket.Start(UriOf(listener), new SidecarOptions { Loop = loop });
        using Socket accepted = listener.Accept();
        accepted.ReceiveTimeout = (int)Generous.TotalMilliseconds;
        ReadRequest(accepted);
        Assert.Equal(baseline + 1, SidecarDiagnostics.LiveConnections);

        // The stop is requested while the loop is held, so the connection's start is discarded unrun at the teardown.
        LoopStopReport? stopped = null;
        var stopper = new Thread(() => stopped = loop.Stop(Generous));
        stopper.Start();
        Assert.True(SpinWait.SpinUntil(() => !loop.IsRunning, Generous));
        gate.Set();
        Assert.True(stopper.Join(Generous));
        Assert.NotNull(stopped);

        Assert.True(stopped.Joined);
        Assert.True(stopped.CancelledWorkItems >= 1); // the connection's start
        Assert.Equal(baseline, SidecarDiagnostics.LiveConnections);
        Assert.Throws<WebSocketClosedException>(ws.WaitUntilOpen);
        // The server sees the socket go: reset (it was closed abortively) or ended, never left open.
        int read;
        try
        {
            read = accepted.Receive(new byte[16]);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            read = 0;
        }

        Assert.Equal(0, read);
        Assert.Equal(WebSocketCloseCode.Abnormal, ws.Exit().CloseCode); // 1006: it ended without a close frame
        Assert.Equal(SidecarWebSocketState.Exited, ws.State);
    }

    private static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        return listener;
    }

    private static Uri UriOf(Socket listener) => new($"ws://127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}/");

    private static (ServerHandshakeRequest Request, byte[] Bytes) ReadRequest(Socket socket)
    {
        byte[] buffer = new byte[4096];
        int length = 0;
        while (true)
        {
            int n = socket.Receive(buffer, length, buffer.Length - length, SocketFlags.None);
            Assert.True(n > 0, "the client closed before its request was complete");
            length += n;
            var sequence = new ReadOnlySequence<byte>(buffer, 0, length);
            if (ServerHandshake.TryReadRequest(ref sequence, 4096, out ServerHandshakeRequest request))
            {
                return (request, buffer[..length]);
            }
        }
    }

    /// <summary>Reads the client's masked close frame (1000, no reason: 8 bytes), echoes it unmasked and closes TCP.</summary>
    private static void AnswerClose(Socket socket)
    {
        byte[] frame = new byte[8];
        int length = 0;
        while (length < frame.Length)
        {
            int n = socket.Receive(frame, length, frame.Length - length, SocketFlags.None);
            if (n == 0)
            {
                return;
            }

            length += n;
        }

        socket.Send([0x88, 0x02, 0x03, 0xE8]);
        socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Keeps the loop busy with one item until <paramref name="gate"/> is set (or a generous time passes).</summary>
    private static void HoldLoop(SidecarLoop loop, ManualResetEventSlim gate)
    {
        using var loopHeld = new ManualResetEventSlim(false);
        loop.Post(() =>
        {
            loopHeld.Set();
            gate.Wait(Generous);
        });
        Assert.True(loopHeld.Wait(Generous));
    }
}
