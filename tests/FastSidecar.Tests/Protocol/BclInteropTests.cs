using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Protocol;

namespace FastSidecar.Tests.Protocol;

// The peer built from our codec is deliberately blocking, as the product's API is, so these tests are synchronous and
// wait on the BCL's tasks with a bounded Wait. Synchronous xunit tests run without a SynchronizationContext and the
// BCL socket's continuations run on the thread pool, so the blocking waits cannot deadlock.
#pragma warning disable xUnit1031

/// <summary>
/// Our codec on one end of a loopback connection, the BCL's own WebSocket on the other: an independent implementation
/// must accept what we write and we must parse what it writes, in both roles.
/// </summary>
public class BclInteropTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private static readonly int[] Sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

    private sealed class Connection : IDisposable
    {
        private readonly TcpClient _ours;
        private readonly TcpClient _theirs;

        public Connection(bool bclIsServer)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            try
            {
                _ours = new TcpClient();
                Task connect = _ours.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
                _theirs = listener.AcceptTcpClient();
                Assert.True(connect.Wait(Patience));
            }
            finally
            {
                listener.Stop();
            }

            _ours.NoDelay = true;
            _theirs.NoDelay = true;
            _ours.ReceiveTimeout = (int)Patience.TotalMilliseconds;
            Pool = new SidecarBufferPool();
            Peer = new RawPeer(_ours.GetStream(), bclIsServer ? WebSocketRole.Client : WebSocketRole.Server, Pool);
            Bcl = WebSocket.CreateFromStream(
                _theirs.GetStream(),
                new WebSocketCreationOptions { IsServer = bclIsServer, KeepAliveInterval = TimeSpan.Zero });
        }

        public SidecarBufferPool Pool { get; }

        public RawPeer Peer { get; }

        public WebSocket Bcl { get; }

        public void Dispose()
        {
            Bcl.Dispose();
            Peer.Dispose();
            _ours.Dispose();
            _theirs.Dispose();
        }
    }

    private static byte[] Payload(int size, MessageType type, int seed)
    {
        if (type == MessageType.Binary)
        {
            byte[] bytes = new byte[size];
            new Random(seed).NextBytes(bytes);
            return bytes;
        }

        const string Pattern = "text ünïcödé κόσμε 日本 😀 ";
        var text = new StringBuilder(size + Pattern.Length);
        while (text.Length < size)
        {
            text.Append(Pattern);
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(text.ToString());
        int length = Math.Min(size, utf8.Length);
        while (length > 0 && (utf8[length] & 0b_1100_0000) == 0b_1000_0000)
        {
            length--; // never cut a character: the message must be valid UTF-8 on its own
        }

        return utf8.AsSpan(0, length).ToArray();
    }

    private static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveWholeAsync(WebSocket socket)
    {
        var data = new MemoryStream();
        byte[] chunk = new byte[64 * 1024];
        while (true)
        {
            WebSocketReceiveResult result = await socket.ReceiveAsync(chunk, CancellationToken.None);
            data.Write(chunk, 0, result.Count);
            if (result.EndOfMessage || result.MessageType == WebSocketMessageType.Close)
            {
                return (result.MessageType, data.ToArray());
            }
        }
    }

    private static int[] FragmentCuts(int length) => [length / 3, 2 * length / 3];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Messages_we_send_are_received_by_the_BCL(bool bclIsServer)
    {
        using var connection = new Connection(bclIsServer);
        int seed = 0;
        foreach (int size in Sizes)
        {
            foreach (MessageType type in new[] { MessageType.Text, MessageType.Binary })
            {
                foreach (bool fragmented in new[] { false, true })
                {
                    byte[] payload = Payload(size, type, seed++);
                    Task<(WebSocketMessageType Type, byte[] Data)> receive = ReceiveWholeAsync(connection.Bcl);
                    Opcode opcode = type == MessageType.Text ? Opcode.Text : Opcode.Binary;
                    if (fragmented)
                    {
                        int[] cuts = FragmentCuts(payload.Length);
                        connection.Peer.Send(opcode, fin: false, payload.AsSpan(0, cuts[0]));
                        connection.Peer.Send(Opcode.Ping, fin: true, "are you there"u8);
                        connection.Peer.Send(Opcode.Continuation, fin: false, payload.AsSpan(cuts[0], cuts[1] - cuts[0]));
                        connection.Peer.Send(Opcode.Continuation, fin: true, payload.AsSpan(cuts[1]));
                    }
                    else
                    {
                        connection.Peer.Send(opcode, fin: true, payload);
                    }

                    Assert.True(receive.Wait(Patience));
                    (WebSocketMessageType receivedType, byte[] data) = receive.Result;
                    Assert.Equal(type == MessageType.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, receivedType);
                    Assert.True(payload.AsSpan().SequenceEqual(data), $"{type} of {size} bytes, fragmented: {fragmented}");

                    if (fragmented)
                    {
                        ReadEvent pong = connection.Peer.Receive();
                        Assert.Equal(FrameReadStatus.Pong, pong.Status);
                        Assert.Equal("are you there"u8.ToArray(), pong.Payload);
                    }
                }
            }
        }

        Assert.Equal(0, connection.Pool.Outstanding);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Messages_the_BCL_sends_are_parsed(bool bclIsServer)
    {
        using var connection = new Connection(bclIsServer);
        int seed = 1000;
        foreach (int size in Sizes)
        {
            foreach (MessageType type in new[] { MessageType.Text, MessageType.Binary })
            {
                foreach (bool fragmented in new[] { false, true })
                {
                    byte[] payload = Payload(size, type, seed++);
                    WebSocketMessageType bclType = type == MessageType.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                    Task send = Task.Run(async () =>
                    {
                        if (fragmented)
                        {
                            int[] cuts = FragmentCuts(payload.Length);
                            await connection.Bcl.SendAsync(payload.AsMemory(0, cuts[0]), bclType, endOfMessage: false, CancellationToken.None);
                            await connection.Bcl.SendAsync(payload.AsMemory(cuts[0], cuts[1] - cuts[0]), bclType, endOfMessage: false, CancellationToken.None);
                            await connection.Bcl.SendAsync(payload.AsMemory(cuts[1]), bclType, endOfMessage: true, CancellationToken.None);
                        }
                        else
                        {
                            await connection.Bcl.SendAsync(payload, bclType, endOfMessage: true, CancellationToken.None);
                        }
                    });

                    ReadEvent message = connection.Peer.Receive();
                    Assert.True(send.Wait(Patience));
                    Assert.Equal(FrameReadStatus.Message, message.Status);
                    Assert.Equal(type, message.Type);
                    Assert.True(payload.AsSpan().SequenceEqual(message.Payload), $"{type} of {size} bytes, fragmented: {fragmented}");
                }
            }
        }

        Assert.Equal(0, connection.Pool.Outstanding);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Close_handshake_we_start_completes(bool bclIsServer)
    {
        using var connection = new Connection(bclIsServer);
        connection.Peer.SendClose(1000, "bye"u8);

        Task<(WebSocketMessageType Type, byte[] Data)> receive = ReceiveWholeAsync(connection.Bcl);
        Assert.True(receive.Wait(Patience));
        Assert.Equal(WebSocketMessageType.Close, receive.Result.Type);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, connection.Bcl.CloseStatus);
        Assert.Equal("bye", connection.Bcl.CloseStatusDescription);

        Task closeOutput = connection.Bcl.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "ok", CancellationToken.None);
        ReadEvent close = connection.Peer.Receive();
        Assert.True(closeOutput.Wait(Patience));
        Assert.Equal(FrameReadStatus.Close, close.Status);
        Assert.Equal(1000, close.CloseCode);
        Assert.Equal("ok"u8.ToArray(), close.Payload);
        Assert.Equal(WebSocketState.Closed, connection.Bcl.State);
        Assert.Equal(0, connection.Pool.Outstanding);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Close_handshake_the_BCL_starts_completes(bool bclIsServer)
    {
        using var connection = new Connection(bclIsServer);
        Task closing = connection.Bcl.CloseAsync((WebSocketCloseStatus)4000, "done", CancellationToken.None);

        ReadEvent close = connection.Peer.Receive();
        Assert.Equal(FrameReadStatus.Close, close.Status);
        Assert.Equal(4000, close.CloseCode);
        Assert.Equal("done"u8.ToArray(), close.Payload);

        connection.Peer.SendClose(close.CloseCode, []);
        Assert.True(closing.Wait(Patience));
        Assert.Equal(WebSocketState.Closed, connection.Bcl.State);
        Assert.Equal((WebSocketCloseStatus)4000, connection.Bcl.CloseStatus);
        Assert.Equal(0, connection.Pool.Outstanding);
    }
}
