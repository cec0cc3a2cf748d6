using System.Net.WebSockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Interop;

/// <summary>
/// permessage-deflate against real servers that compress: Python <c>websockets</c> (its default), Node <c>ws</c>
/// (with and without context takeover) and Kestrel (<c>DangerousEnableCompression</c>). Echoes from 0 B to 1 MiB,
/// compressible and random, both directions compressed; each test ends with nothing rented.
/// </summary>
public abstract class DeflateInteropTests
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(30);

    protected abstract Uri Uri { get; }

    protected abstract string Name { get; }

    private SidecarWebSocket Connect(SidecarBufferPool pool, int minimumDeflateSize = 0, WebSocketDeflateOptions? deflate = null)
    {
        var ws = SidecarWebSocket.Connect(Uri, new SidecarOptions
        {
            BufferPool = pool,
            Deflate = deflate ?? new WebSocketDeflateOptions(),
            MinimumDeflateSize = minimumDeflateSize,
            MaxMessageSize = 8 << 20,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            CloseTimeout = TimeSpan.FromSeconds(10),
            JoinTimeout = TimeSpan.FromSeconds(10),
            SendTimeout = TimeSpan.FromSeconds(30),
        });
        Assert.True(ws.IsDeflateNegotiated, $"{Name}: permessage-deflate was not negotiated");
        return ws;
    }

    private static byte[] Payload(int length, bool random, int seed)
    {
        var bytes = new byte[length];
        if (random)
        {
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        var text = new StringBuilder();
        for (int i = seed; text.Length < length; i++)
        {
            text.Append("{\"sym\":\"ETH-EUR\",\"bid\":").Append(3000 + (i % 211)).Append(",\"seq\":").Append(i).Append('}');
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    private void AssertEcho(SidecarWebSocket ws, byte[] sent, MessageType type)
    {
        ReceivedMessage received;
        try
        {
            received = ws.Receive(ReceiveTimeout);
        }
        catch (SidecarWebSocketException failure)
        {
            throw new InvalidOperationException($"{Name}: no echo of {sent.Length} B {type}: {failure.Message}", failure);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Name}: no echo of {sent.Length} B {type} within {ReceiveTimeout}");
        }

        using ReceivedMessage echo = received;
        Assert.True(echo.Type == type, $"{Name}: {sent.Length} B came back as {echo.Type}");
        Assert.True(echo.Span.SequenceEqual(sent), $"{Name}: {sent.Length} B {type} echo differs ({echo.Length} B)");
    }

    private void ExitCleanly(SidecarWebSocket ws, SidecarBufferPool pool)
    {
        ShutdownReport report = ws.Exit();
        Assert.True(report.Fault is null, $"{Name}: {report}");
        Assert.Equal(WebSocketCloseCode.NormalClosure, report.CloseCode);
        Assert.Equal(0, report.MessagesNotSent);
        Assert.True(report.ThreadJoined);
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Messages_from_0_B_to_1_MiB_compressible_and_random_echo_byte_exact()
    {
        var pool = new SidecarBufferPool();
        SidecarWebSocket ws = Connect(pool);
        int seed = 0;
        foreach (int length in new[] { 0, 1, 16, 125, 126, 1000, 1024, 4096, 65_535, 65_536, 200_000, 1 << 20 })
        {
            foreach (bool random in new[] { false, true })
            {
                MessageType type = random ? MessageType.Binary : MessageType.Text;
                byte[] payload = Payload(length, random, seed++);
                ws.Send(payload, type);
                AssertEcho(ws, payload, type);
            }
        }

        ExitCleanly(ws, pool);
    }

    [Fact]
    public void Pipelined_messages_around_the_threshold_keep_context_in_order()
    {
        var pool = new SidecarBufferPool();
        SidecarWebSocket ws = Connect(pool, minimumDeflateSize: 1024);
        byte[][] payloads = [.. Enumerable.Range(0, 600).Select(i => Payload(100 + (i * 53 % 3000), random: i % 10 == 0, i))];
        foreach (byte[] payload in payloads)
        {
            ws.Send(payload, MessageType.Binary);
        }

        foreach (byte[] payload in payloads)
        {
            AssertEcho(ws, payload, MessageType.Binary);
        }

        ExitCleanly(ws, pool);
    }

    [Fact]
    public void Server_fragmented_compressed_text_is_reassembled()
    {
        var pool = new SidecarBufferPool();
        SidecarWebSocket ws = Connect(pool);
        string text = string.Concat(Enumerable.Repeat("h\u00e9llo w\u00f6rld \u2713 \U0001F600 ", 400));
        foreach (int frames in new[] { 2, 5, 33 })
        {
            ws.Send(Encoding.UTF8.GetBytes(EchoProtocol.Fragment(frames)), MessageType.Text);
            ws.Send(Encoding.UTF8.GetBytes(text), MessageType.Text);
            AssertEcho(ws, Encoding.UTF8.GetBytes(text), MessageType.Text);
        }

        ExitCleanly(ws, pool);
    }

    [Fact]
    public void Without_client_context_takeover_and_with_small_windows_messages_echo()
    {
        var pool = new SidecarBufferPool();
        SidecarWebSocket ws = Connect(pool, deflate: new WebSocketDeflateOptions { ClientContextTakeover = false, ClientMaxWindowBits = 9, ServerMaxWindowBits = 10 });
        for (int i = 0; i < 200; i++)
        {
            byte[] payload = Payload(50 + (i * 97 % 9000), random: false, i);
            ws.Send(payload, MessageType.Text);
            AssertEcho(ws, payload, MessageType.Text);
        }

        ExitCleanly(ws, pool);
    }
}

/// <summary>A private peer process started with compression on, for one test class.</summary>
public abstract class DeflatePeerProcess(PeerProcess process) : IDisposable
{
    public PeerProcess Process { get; } = process;

    public void Dispose() => Process.Dispose();
}

public sealed class PythonDeflatePeer() : DeflatePeerProcess(PythonWebSocketsPeer.StartProcess(deflate: true));

public sealed class NodeDeflatePeer() : DeflatePeerProcess(NodeWsPeer.StartProcess(deflate: "1"));

public sealed class NodeNoContextDeflatePeer() : DeflatePeerProcess(NodeWsPeer.StartProcess(deflate: "nocontext"));

public sealed class PythonWebSocketsDeflateInteropTests(PythonDeflatePeer peer) : DeflateInteropTests, IClassFixture<PythonDeflatePeer>
{
    protected override Uri Uri => peer.Process.Uri;

    protected override string Name => "python websockets (deflate)";
}

public sealed class NodeWsDeflateInteropTests(NodeDeflatePeer peer) : DeflateInteropTests, IClassFixture<NodeDeflatePeer>
{
    protected override Uri Uri => peer.Process.Uri;

    protected override string Name => "node ws (deflate)";
}

public sealed class NodeWsNoContextTakeoverDeflateInteropTests(NodeNoContextDeflatePeer peer) : DeflateInteropTests, IClassFixture<NodeNoContextDeflatePeer>
{
    protected override Uri Uri => peer.Process.Uri;

    protected override string Name => "node ws (deflate, no context takeover)";
}

public sealed class KestrelDeflateInteropTests(KestrelEchoPeer peer) : DeflateInteropTests, IClassFixture<KestrelEchoPeer>
{
    protected override Uri Uri => new(peer.Uri, "deflate");

    protected override string Name => "kestrel (DangerousEnableCompression)";
}
