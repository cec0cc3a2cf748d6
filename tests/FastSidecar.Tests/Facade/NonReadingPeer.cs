using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace FastSidecar.Tests.Facade;

/// <summary>
/// A peer that accepts one WebSocket handshake and then never reads again, so the client's socket fills up. After
/// the handshake it runs <c>afterHandshake</c> (on its own thread) if given: to flood the client, say, still
/// without reading. Written independently of the library's handshake code.
/// </summary>
internal sealed class NonReadingPeer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Thread _thread;
    private readonly Action<Socket>? _afterHandshake;
    private Socket? _accepted;

    public NonReadingPeer(Action<Socket>? afterHandshake = null)
    {
        _afterHandshake = afterHandshake;
        _listener.Start();
        _thread = new Thread(Serve) { IsBackground = true, Name = "non-reading peer" };
        _thread.Start();
    }

    public Uri Uri => new($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    private void Serve()
    {
        try
        {
            Socket socket = _listener.AcceptSocket();
            _accepted = socket;
            socket.ReceiveBufferSize = 64 * 1024;
            var request = new StringBuilder();
            byte[] buffer = new byte[1];
            while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (socket.Receive(buffer) == 0)
                {
                    return;
                }

                request.Append((char)buffer[0]);
            }

            string key = request.ToString().Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
#pragma warning disable CA5350 // RFC 6455 §4.2.2 fixes SHA-1 for the accept value
            string accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
            socket.Send(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"));
            _afterHandshake?.Invoke(socket);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _accepted?.Dispose();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
