using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using FastSidecar.Protocol;
using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// A wss:// peer the library does not drive: <see cref="SslStream"/> over a blocking <see cref="NetworkStream"/>, one
/// thread per connection, written the way a straightforward TLS server is written (blocking reads, one write per
/// frame). Paths as the TLS runner's Kestrel server: <c>/echo</c> echoes data frames; <c>/flood?size=N&amp;count=M</c>
/// sends M binary messages of N bytes, then echoes; <c>/sink?count=M</c> takes M data messages, answers "done", then
/// echoes. A close frame is echoed and ends the connection.
/// </summary>
public sealed class BlockingTlsEchoServer : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly X509Certificate2 _certificate;
    private readonly Thread _acceptThread;

    public BlockingTlsEchoServer(X509Certificate2 certificate)
    {
        _certificate = certificate;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        Uri = new Uri($"wss://localhost:{((IPEndPoint)_listener.LocalEndPoint!).Port}/");
        _acceptThread = new Thread(Accept) { IsBackground = true, Name = "blocking tls echo accept" };
        _acceptThread.Start();
    }

    public Uri Uri { get; }

    public void Dispose()
    {
        _listener.Dispose();
        _acceptThread.Join(TimeSpan.FromSeconds(5));
    }

    private void Accept()
    {
        while (true)
        {
            Socket connection;
            try
            {
                connection = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // the listener was disposed
            }

            connection.NoDelay = true;
            new Thread(() => Serve(connection)) { IsBackground = true, Name = "blocking tls echo" }.Start();
        }
    }

    private void Serve(Socket socket)
    {
        using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        var reader = new FrameStream(tls);
        try
        {
            tls.AuthenticateAsServer(new SslServerAuthenticationOptions { ServerCertificate = _certificate });
            ServerHandshakeRequest request = reader.ReadUpgrade();
            var query = ParseQuery(request.Path);
            var answer = new ArrayBufferWriter<byte>(256);
            ServerHandshake.WriteAccept(answer, request, subProtocol: null);
            tls.Write(answer.WrittenSpan);
            if (request.Path.StartsWith("/flood", StringComparison.Ordinal))
            {
                byte[] message = new byte[query.GetValueOrDefault("size", 64)];
                for (int i = query.GetValueOrDefault("count", 0); i > 0; i--)
                {
                    reader.WriteFrame(Opcode.Binary, fin: true, message);
                }
            }
            else if (request.Path.StartsWith("/sink", StringComparison.Ordinal))
            {
                for (int i = query.GetValueOrDefault("count", 0); i > 0;)
                {
                    FrameHeader header = reader.ReadFrame(out _);
                    if (header.Opcode == Opcode.Close)
                    {
                        return;
                    }

                    i -= header.Fin && header.Opcode is not (Opcode.Ping or Opcode.Pong) ? 1 : 0;
                }

                reader.WriteFrame(Opcode.Text, fin: true, "done"u8);
            }

            while (true)
            {
                FrameHeader header = reader.ReadFrame(out ReadOnlySpan<byte> payload);
                if (header.Opcode == Opcode.Pong)
                {
                    continue;
                }

                reader.WriteFrame(header.Opcode == Opcode.Ping ? Opcode.Pong : header.Opcode, header.Fin, payload);
                if (header.Opcode == Opcode.Close)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException or ObjectDisposedException or EndOfStreamException)
        {
        }
    }

    private static Dictionary<string, int> ParseQuery(string path)
    {
        var values = new Dictionary<string, int>(StringComparer.Ordinal);
        int start = path.IndexOf('?', StringComparison.Ordinal);
        if (start < 0)
        {
            return values;
        }

        foreach (string pair in path[(start + 1)..].Split('&'))
        {
            string[] parts = pair.Split('=', 2);
            if (parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int value))
            {
                values[parts[0]] = value;
            }
        }

        return values;
    }

    /// <summary>Blocking frame reads and writes over the TLS stream: a read buffer, and one write per frame.</summary>
    private sealed class FrameStream(Stream stream)
    {
        private readonly byte[] _buffer = new byte[1 << 20];
        private readonly byte[] _output = new byte[(1 << 20) + FrameHeader.MaxLength];
        private int _start;
        private int _end;

        public ServerHandshakeRequest ReadUpgrade()
        {
            while (true)
            {
                Fill();
                var sequence = new ReadOnlySequence<byte>(_buffer, _start, _end - _start);
                if (ServerHandshake.TryReadRequest(ref sequence, 16 * 1024, out ServerHandshakeRequest request))
                {
                    _start = _end - (int)sequence.Length;
                    return request;
                }
            }
        }

        /// <summary>The next frame, unmasked in place; its payload stays valid until the next read.</summary>
        public FrameHeader ReadFrame(out ReadOnlySpan<byte> payload)
        {
            while (true)
            {
                if (FrameHeader.TryRead(_buffer.AsSpan(_start, _end - _start), out FrameHeader header, out int headerLength)
                    && _end - _start - headerLength >= header.PayloadLength)
                {
                    Span<byte> body = _buffer.AsSpan(_start + headerLength, (int)header.PayloadLength);
                    Masking.Apply(body, header.MaskKey, 0);
                    _start += headerLength + body.Length;
                    payload = body;
                    return header;
                }

                Fill();
            }
        }

        public void WriteFrame(Opcode opcode, bool fin, ReadOnlySpan<byte> payload)
        {
            var header = new FrameHeader(fin, 0, opcode, masked: false, 0, payload.Length);
            int headerLength = header.Write(_output);
            payload.CopyTo(_output.AsSpan(headerLength));
            stream.Write(_output, 0, headerLength + payload.Length);
        }

        private void Fill()
        {
            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new IOException("A frame larger than the server's buffer.");
            }

            int n = stream.Read(_buffer, _end, _buffer.Length - _end);
            if (n == 0)
            {
                throw new EndOfStreamException();
            }

            _end += n;
        }
    }
}
