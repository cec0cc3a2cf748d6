using System.Net;
using System.Net.Sockets;
using FastSidecar.Buffers;

namespace FastSidecar.Testing;

/// <summary>
/// The reinitialisation stress cycle and its fault mix: cycle <c>n</c> connects to one of seven targets in turn, sends
/// one message, takes the answer and exits, so a run of cycles exercises every way a connection can end (clean echo,
/// reset, silent peer, half a frame, refused port, unanswered handshake, peer-initiated close) in equal measure.
/// Shared by the leak tests and the stress runner so that both measure the same thing.
/// </summary>
internal sealed class FaultRotation(LoopbackEchoServer server)
{
    /// <summary>The connect timeout of the cycle whose handshake is never answered: short, so the rotation keeps moving.</summary>
    public static readonly TimeSpan StalledConnectTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>The cycle kinds, in rotation order.</summary>
    public static IReadOnlyList<string> Kinds { get; } = ["echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close"];

    // A loopback port that was free a moment ago and has no listener: connecting to it is refused.
    private readonly Uri _refusedUri = FreePortUri();

    /// <summary>The target of cycle <paramref name="cycle"/>, its kind, and the connect timeout it needs.</summary>
    public (Uri Uri, string Kind, TimeSpan ConnectTimeout) Cycle(int cycle)
    {
        int index = cycle % Kinds.Count;
        Uri uri = index switch
        {
            0 => server.Uri,
            1 => server.UriFor(EchoServerFault.Reset),
            2 => server.UriFor(EchoServerFault.Silent),
            3 => server.UriFor(EchoServerFault.MidFrame),
            4 => _refusedUri,
            5 => server.StallingUri,
            _ => server.UriFor(EchoServerFault.CloseAfterEcho),
        };
        return (uri, Kinds[index], index == 5 ? StalledConnectTimeout : TimeSpan.FromSeconds(5));
    }

    /// <summary>Runs cycle <paramref name="cycle"/>: connect, send one message, take the answer, exit. Returns its kind.</summary>
    /// <remarks>Every failure the cycle provokes is a <see cref="SidecarWebSocketException"/> and is expected; anything else propagates.</remarks>
    public string RunCycle(int cycle, SidecarBufferPool pool)
    {
        (Uri uri, string kind, TimeSpan connectTimeout) = Cycle(cycle);
        var options = new SidecarOptions
        {
            BufferPool = pool,
            CloseTimeout = TimeSpan.FromMilliseconds(50),
            ConnectTimeout = connectTimeout,
            WaitStrategy = WaitStrategy.Blocking,
        };

        SidecarWebSocket socket;
        try
        {
            socket = SidecarWebSocket.Connect(uri, options);
        }
        catch (SidecarWebSocketException)
        {
            return kind;
        }

        using (socket)
        {
            try
            {
                socket.Send("ping"u8, MessageType.Text);
                socket.Receive(TimeSpan.FromSeconds(5)).Dispose();
            }
            catch (SidecarWebSocketException)
            {
            }

            socket.Exit();
        }

        return kind;
    }

    private static Uri FreePortUri()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return new Uri($"ws://127.0.0.1:{((IPEndPoint)probe.LocalEndPoint!).Port}/");
    }
}
