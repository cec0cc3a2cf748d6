using System.Net;
using System.Net.Sockets;
using FastSidecar.Buffers;

namespace FastSidecar.Testing;

/// <summary>
/// The reinitialisation stress cycle and its fault mix: cycle <c>n</c> connects to one of the rotation's targets in
/// turn (by default all seven: clean echo, reset, silent peer, half a frame, refused port, unanswered handshake,
/// peer-initiated close), sends one message, takes the answer and exits, so a run of cycles exercises every way a
/// connection can end in equal measure. Shared by the leak tests, the CLI's <c>reinit</c> command and the stress
/// runner so that all three measure the same thing.
/// </summary>
/// <remarks>
/// Everything a cycle needs (targets, options, the refused port) is created by the constructor, before any baseline,
/// so the cycles allocate nothing that lives on. Dispose releases the refused port. One thread at a time.
/// </remarks>
internal sealed class FaultRotation : IDisposable
{
    /// <summary>The connect timeout of the cycle whose handshake is never answered: short, so the rotation keeps moving.</summary>
    public static readonly TimeSpan StalledConnectTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>How long a cycle waits for the echo of its message.</summary>
    public static readonly TimeSpan EchoTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Every cycle kind, in rotation order.</summary>
    public static IReadOnlyList<string> AllKinds { get; } = ["echo", "reset", "silent", "midframe", "refused", "stalled", "peer-close"];

    private static readonly byte[] s_message = "ping"u8.ToArray();

    // Bound and never listening: a connect to it is refused for as long as the rotation lives, and nothing else can take the port.
    private readonly Socket _refusingSocket;
    private readonly Uri[] _uris;
    private readonly SidecarOptions _options;
    private readonly SidecarOptions _stalledOptions;

    /// <param name="server">The server whose fault modes the cycles visit.</param>
    /// <param name="pool">The clients' buffer pool.</param>
    /// <param name="closeTimeout">The clients' close timeout; 50 ms when null.</param>
    /// <param name="waitStrategy">The clients' loop wait strategy.</param>
    /// <param name="kinds">The kinds to rotate through, each one of <see cref="AllKinds"/>; null for all of them.</param>
    public FaultRotation(LoopbackEchoServer server, SidecarBufferPool pool, TimeSpan? closeTimeout = null,
        WaitStrategy waitStrategy = WaitStrategy.Blocking, IReadOnlyList<string>? kinds = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        Kinds = kinds ?? AllKinds;
        foreach (string kind in Kinds)
        {
            if (!AllKinds.Contains(kind))
            {
                throw new ArgumentException($"Unknown cycle kind \"{kind}\".", nameof(kinds));
            }
        }

        _refusingSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _refusingSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var refusedUri = new Uri($"ws://127.0.0.1:{((IPEndPoint)_refusingSocket.LocalEndPoint!).Port}/");
        _uris = [.. Kinds.Select(kind => kind switch
        {
            "reset" => server.UriFor(EchoServerFault.Reset),
            "silent" => server.UriFor(EchoServerFault.Silent),
            "midframe" => server.UriFor(EchoServerFault.MidFrame),
            "refused" => refusedUri,
            "stalled" => server.StallingUri,
            "peer-close" => server.UriFor(EchoServerFault.CloseAfterEcho),
            _ => server.Uri,
        })];

        TimeSpan close = closeTimeout ?? TimeSpan.FromMilliseconds(50);
        _options = new SidecarOptions { BufferPool = pool, CloseTimeout = close, ConnectTimeout = TimeSpan.FromSeconds(5), WaitStrategy = waitStrategy };
        _stalledOptions = new SidecarOptions { BufferPool = pool, CloseTimeout = close, ConnectTimeout = StalledConnectTimeout, WaitStrategy = waitStrategy };
    }

    /// <summary>The kinds this rotation goes through, in order.</summary>
    public IReadOnlyList<string> Kinds { get; }

    /// <summary>Runs cycle <paramref name="cycle"/>: connect, send one message, take the answer, exit.</summary>
    /// <remarks>
    /// Every failure the cycle provokes is a <see cref="SidecarWebSocketException"/> and is expected; anything else
    /// propagates, including the <see cref="TimeoutException"/> of an echo that never came.
    /// </remarks>
    public FaultCycle RunCycle(int cycle)
    {
        int index = cycle % Kinds.Count;
        string kind = Kinds[index];
        SidecarWebSocket socket;
        try
        {
            socket = SidecarWebSocket.Connect(_uris[index], kind == "stalled" ? _stalledOptions : _options);
        }
        catch (SidecarWebSocketException)
        {
            return new FaultCycle(kind, Connected: false, Exchanged: false, Report: null); // Connect already ran Exit on the attempt
        }

        using (socket)
        {
            bool exchanged = false;
            try
            {
                socket.Send(s_message, MessageType.Text);
                socket.Receive(EchoTimeout).Dispose();
                exchanged = true;
            }
            catch (SidecarWebSocketException)
            {
                // reset, midframe: the fault is what this cycle is about.
            }

            return new FaultCycle(kind, Connected: true, exchanged, socket.Exit());
        }
    }

    public void Dispose() => _refusingSocket.Dispose();
}

/// <summary>How one cycle of a <see cref="FaultRotation"/> went.</summary>
/// <param name="Kind">One of <see cref="FaultRotation.AllKinds"/>.</param>
/// <param name="Connected">The connection opened (refused and stalled cycles never do).</param>
/// <param name="Exchanged">The message's echo came back.</param>
/// <param name="Report">The Exit of a connected cycle.</param>
internal readonly record struct FaultCycle(string Kind, bool Connected, bool Exchanged, ShutdownReport? Report);
