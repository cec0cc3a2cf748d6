using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Tests.Tls;

/// <summary>What a <see cref="TlsTestServer"/> does with each connection.</summary>
public enum TlsServerBehaviour
{
    /// <summary>TLS, the WebSocket upgrade, then every frame echoed unmasked with its opcode and FIN bit (pings answered, close echoed).</summary>
    Echo,

    /// <summary>Accepts TCP, reads the ClientHello and never answers.</summary>
    StallAfterClientHello,

    /// <summary>Reads the ClientHello and resets the connection.</summary>
    ResetAfterClientHello,
}

/// <summary>
/// A TLS WebSocket server on blocking threads (no thread pool, no async), so it keeps serving while a test starves
/// the pool. It records the raw bytes each client sent, to check what went over the wire (close_notify), and the
/// server name each client asked for (SNI).
/// </summary>
public sealed class TlsTestServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly TlsServerBehaviour _behaviour;
    private readonly SslProtocols _protocols;
    private readonly Thread _acceptor;
    private readonly List<Socket> _clients = [];
    private volatile bool _stopped;

    public TlsTestServer(X509Certificate2 certificate, TlsServerBehaviour behaviour = TlsServerBehaviour.Echo, SslProtocols protocols = SslProtocols.None)
    {
        _certificate = certificate;
        _behaviour = behaviour;
        _protocols = protocols;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptor = new Thread(Accept) { IsBackground = true, Name = "tls test server" };
        _acceptor.Start();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public Uri Uri(string host = "localhost") => new($"wss://{host}:{Port}/");

    /// <summary>Connections whose handler has finished: their raw client bytes and SNI name are complete.</summary>
    public BlockingQueueOf<ServedConnection> Finished { get; } = new();

    public void Dispose()
    {
        _stopped = true;
        _listener.Stop();
        lock (_clients)
        {
            foreach (Socket client in _clients)
            {
                client.Dispose();
            }
        }

        _acceptor.Join(TimeSpan.FromSeconds(5));
    }

    private void Accept()
    {
        while (!_stopped)
        {
            Socket client;
            try
            {
                client = _listener.AcceptSocket();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            lock (_clients)
            {
                _clients.Add(client);
            }

            new Thread(() => Serve(client)) { IsBackground = true, Name = "tls test connection" }.Start();
        }
    }

    private void Serve(Socket client)
    {
        var served = new ServedConnection();
        try
        {
            client.NoDelay = true;
            var raw = new RecordingStream(new NetworkStream(client, ownsSocket: false), served);
            switch (_behaviour)
            {
                case TlsServerBehaviour.StallAfterClientHello:
                    raw.ReadAtLeast(new byte[5], 5, throwOnEndOfStream: false);
                    while (raw.Read(new byte[4096]) > 0)
                    {
                        // Swallow, answer nothing, until the client gives up.
                    }

                    return;
                case TlsServerBehaviour.ResetAfterClientHello:
                    raw.ReadAtLeast(new byte[5], 5, throwOnEndOfStream: false);
                    client.LingerState = new LingerOption(true, 0);
                    client.Close();
                    return;
            }

            using var ssl = new SslStream(raw, leaveInnerStreamOpen: true);
            ssl.AuthenticateAsServer(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                EnabledSslProtocols = _protocols,
            });
            served.ServerName = ssl.TargetHostName;
            served.Protocol = ssl.SslProtocol;
            Upgrade(ssl);
            EchoFrames(ssl);
            // The server closes TCP first (RFC 6455 §7.1.1); the client's close_notify, then its TCP close, follow.
            client.Shutdown(SocketShutdown.Send);
            served.CleanTlsEnd = ssl.Read(new byte[1]) == 0;
        }
        catch (Exception e) when (e is IOException or AuthenticationException or SocketException or ObjectDisposedException)
        {
            served.Error = e;
        }
        finally
        {
            client.Dispose();
            Finished.Add(served);
        }
    }

    private static void Upgrade(Stream stream)
    {
        var request = new StringBuilder();
        var one = new byte[1];
        while (!request.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (stream.Read(one) == 0)
            {
                throw new IOException("The client closed during the upgrade request.");
            }

            request.Append((char)one[0]);
        }

        string key = request.ToString().Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))["Sec-WebSocket-Key:".Length..].Trim();
        Span<byte> accept = stackalloc byte[28];
        WebSocketAccept.Compute(Encoding.ASCII.GetBytes(key), accept);
        stream.Write(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {Encoding.ASCII.GetString(accept)}\r\n\r\n"));
        stream.Flush();
    }

    /// <summary>Echoes each client frame as an unmasked frame with the same FIN bit and opcode; answers pings, echoes the close and returns.</summary>
    private static void EchoFrames(Stream stream)
    {
        var header = new byte[14];
        while (true)
        {
            stream.ReadExactly(header, 0, 2);
            bool fin = (header[0] & 0x80) != 0;
            int opcode = header[0] & 0x0F;
            long length = header[1] & 0x7F;
            if (length == 126)
            {
                stream.ReadExactly(header, 2, 2);
                length = (header[2] << 8) | header[3];
            }
            else if (length == 127)
            {
                stream.ReadExactly(header, 2, 8);
                length = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(2));
            }

            var mask = new byte[4];
            stream.ReadExactly(mask);
            var payload = new byte[length];
            stream.ReadExactly(payload);
            for (int i = 0; i < payload.Length; i++)
            {
                payload[i] ^= mask[i & 3];
            }

            int replyOpcode = opcode == 0x9 ? 0xA : opcode;
            if (opcode == 0xA)
            {
                continue;
            }

            var reply = new MemoryStream();
            reply.WriteByte((byte)((fin ? 0x80 : 0) | replyOpcode));
            if (length < 126)
            {
                reply.WriteByte((byte)length);
            }
            else if (length <= ushort.MaxValue)
            {
                reply.WriteByte(126);
                reply.WriteByte((byte)(length >> 8));
                reply.WriteByte((byte)length);
            }
            else
            {
                reply.WriteByte(127);
                var size = new byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(size, (ulong)length);
                reply.Write(size);
            }

            reply.Write(payload);
            stream.Write(reply.ToArray());
            stream.Flush();
            if (opcode == 0x8)
            {
                return;
            }
        }
    }

    /// <summary>One served connection: what the client sent on the wire and asked for.</summary>
    public sealed class ServedConnection
    {
        private readonly List<byte> _clientBytes = [];

        public string? ServerName { get; set; }

        public SslProtocols Protocol { get; set; }

        public bool CleanTlsEnd { get; set; }

        public Exception? Error { get; set; }

        internal void Record(ReadOnlySpan<byte> bytes)
        {
            lock (_clientBytes)
            {
                _clientBytes.AddRange(bytes);
            }
        }

        /// <summary>The content types of the TLS records the client sent, in order (21 alert, 22 handshake, 23 application data).</summary>
        public List<byte> RecordTypes()
        {
            byte[] bytes;
            lock (_clientBytes)
            {
                bytes = [.. _clientBytes];
            }

            var types = new List<byte>();
            int at = 0;
            while (at + 5 <= bytes.Length)
            {
                types.Add(bytes[at]);
                at += 5 + ((bytes[at + 3] << 8) | bytes[at + 4]);
            }

            return types;
        }
    }

    private sealed class RecordingStream(Stream inner, ServedConnection served) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            served.Record(buffer.AsSpan(offset, n));
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>A minimal blocking queue with a timed take.</summary>
public sealed class BlockingQueueOf<T>
{
    private readonly Queue<T> _items = new();

    public void Add(T item)
    {
        lock (_items)
        {
            _items.Enqueue(item);
            Monitor.PulseAll(_items);
        }
    }

    public T Take(TimeSpan timeout)
    {
        lock (_items)
        {
            while (_items.Count == 0)
            {
                if (!Monitor.Wait(_items, timeout))
                {
                    throw new TimeoutException($"nothing within {timeout}");
                }
            }

            return _items.Dequeue();
        }
    }
}
