using System.Net.WebSockets;
using System.Text;
using FastSidecar.Buffers;
using FastSidecar.Tests.Peers;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// The permessage-deflate state of every connection goes back to its pool on every way a connection ends: Exit
/// after traffic, Exit with sends still queued, a close by the peer, and a peer that goes away mid-message.
/// </summary>
[Collection(ResourceCountingGroup.Name)]
public sealed class DeflateReinitializationTests
{
    private const int Cycles = 120;

    [Fact]
    public async Task Connect_exchange_exit_cycles_with_deflate_return_every_deflate_state_and_buffer()
    {
        KestrelEchoPeer server = await KestrelEchoPeer.StartAsync();
        try
        {
            var pool = new SidecarBufferPool();
            var uri = new Uri(server.Uri, "deflate");
            byte[] tick = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("{\"px\":101.25,\"qty\":3},", 100)));
            long before = SidecarDiagnostics.DeflateStatesOutstanding;
            for (int i = 0; i < Cycles; i++)
            {
                var ws = SidecarWebSocket.Connect(uri, new SidecarOptions
                {
                    BufferPool = pool,
                    Deflate = new WebSocketDeflateOptions { ClientContextTakeover = i % 2 == 0 },
                    MinimumDeflateSize = 0,
                    CloseTimeout = TimeSpan.FromSeconds(5),
                });
                Assert.True(ws.IsDeflateNegotiated);
                Assert.Equal(before + 1, SidecarDiagnostics.DeflateStatesOutstanding);
                switch (i % 3)
                {
                    case 0: // a full exchange, then Exit
                        ws.Send(tick, MessageType.Text);
                        using (ReceivedMessage echo = ws.Receive(TimeSpan.FromSeconds(10)))
                        {
                            Assert.True(echo.Span.SequenceEqual(tick));
                        }

                        break;
                    case 1: // Exit with sends queued and echoes unread
                        for (int k = 0; k < 20; k++)
                        {
                            ws.TrySend(tick, MessageType.Binary);
                        }

                        break;
                    case 2: // the peer closes first
                        ws.Send(Encoding.UTF8.GetBytes(EchoProtocol.Close(4001, "bye")), MessageType.Text);
                        Assert.Throws<WebSocketClosedException>(() => ws.Receive(TimeSpan.FromSeconds(10)));
                        break;
                }

                ws.Exit();
                Assert.Equal(before, SidecarDiagnostics.DeflateStatesOutstanding);
                Assert.Equal(0, pool.Outstanding);
            }
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
