using System.Net;
using System.Net.Sockets;
using FastSidecar.Transport;

namespace FastSidecar.Tests.Tls;

/// <summary>
/// The ciphertext stream under SslStream answers a zero-byte read ("is there more?") at once only when the socket may
/// hold more bytes: after a short receive it waits for the next readiness event, so an empty socket costs no receive.
/// </summary>
public sealed class LoopStreamTests
{
    [Fact]
    public async Task A_zero_byte_read_after_a_short_receive_waits_for_readiness()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using (client)
        using (server)
        using (var stream = new LoopStream(client))
        {
            server.Send(new byte[10]);
            await WaitForBytesAsync(client, 10);
            stream.OnReadable();
            byte[] buffer = new byte[100];
            ValueTask<int> read = stream.ReadAsync(buffer);
            Assert.True(read.IsCompletedSuccessfully);
            Assert.Equal(10, await read); // short: the socket is now empty

            ValueTask<int> wait = stream.ReadAsync(Memory<byte>.Empty);
            Assert.False(wait.IsCompleted);
            Assert.True(stream.IsWaitingForData);
            Assert.False(stream.TryCompleteRead()); // no readiness since the short receive: nothing to ask the socket

            server.Send(new byte[5]);
            await WaitForBytesAsync(client, 5);
            Assert.False(stream.TryCompleteRead()); // still no readiness event: the loop has not said so yet
            stream.OnReadable();
            Assert.True(stream.TryCompleteRead());
            Assert.True(wait.IsCompletedSuccessfully);
            Assert.Equal(0, await wait);
            Assert.False(stream.IsWaitingForData);
        }
    }

    [Fact]
    public async Task A_zero_byte_read_after_a_receive_that_filled_its_buffer_completes_at_once()
    {
        (Socket client, Socket server) = await ConnectedPairAsync();
        using (client)
        using (server)
        using (var stream = new LoopStream(client))
        {
            server.Send(new byte[100]);
            await WaitForBytesAsync(client, 100);
            stream.OnReadable();
            ValueTask<int> read = stream.ReadAsync(new byte[40]);
            Assert.True(read.IsCompletedSuccessfully);
            Assert.Equal(40, await read); // full: more may be waiting

            ValueTask<int> wait = stream.ReadAsync(Memory<byte>.Empty);
            Assert.True(stream.TryCompleteRead());
            Assert.True(wait.IsCompletedSuccessfully);
            Assert.Equal(0, await wait);
            ValueTask<int> rest = stream.ReadAsync(new byte[100]);
            Assert.True(rest.IsCompletedSuccessfully);
            Assert.Equal(60, await rest);
        }
    }

    private static async Task WaitForBytesAsync(Socket socket, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (socket.Available < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{count} bytes did not arrive on loopback");
            await Task.Delay(1);
        }
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        Socket server = await listener.AcceptAsync();
        client.Blocking = false;
        return (client, server);
    }
}
