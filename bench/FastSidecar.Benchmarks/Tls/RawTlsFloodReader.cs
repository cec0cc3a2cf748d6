using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Tls;

/// <summary>
/// The floor of a TLS receive flood: one thread, one <see cref="SslStream"/> over a blocking socket, reads of 64 KiB,
/// frame headers parsed in place and messages counted, nothing copied, nothing handed to another thread. What this
/// reader cannot exceed, no WebSocket client can: a rate near it says the server, not the client, sets the pace.
/// </summary>
internal static class RawTlsFloodReader
{
    /// <summary>Opens <paramref name="uri"/> (a <c>/flood</c> path), reads <paramref name="count"/> messages, returns messages per second.</summary>
    public static double Read(Uri uri, X509Certificate2 serverCertificate, int count)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, uri.Port));
        using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), leaveInnerStreamOpen: false,
            (_, cert, _, _) => cert is not null && cert.GetCertHashString() == serverCertificate.GetCertHashString());
        tls.AuthenticateAsClient(uri.Host);
        tls.Write(Encoding.ASCII.GetBytes(
            $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));

        byte[] buffer = new byte[64 * 1024];
        int filled = 0;
        int start = ReadResponseHead(tls, buffer, ref filled);
        long clock = Stopwatch.GetTimestamp();
        int messages = 0;
        while (true)
        {
            // Parse every whole frame in [start, filled); keep a partial one for the next read.
            while (TryFrame(buffer.AsSpan(start, filled - start), out int frameLength, out bool fin))
            {
                start += frameLength;
                if (fin)
                {
                    messages++;
                }
            }

            if (messages >= count)
            {
                break; // the server sends nothing after the flood: another read would wait forever
            }

            if (start > 0)
            {
                buffer.AsSpan(start, filled - start).CopyTo(buffer);
                filled -= start;
                start = 0;
            }

            int read = tls.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                throw new IOException($"The server closed after {messages} of {count} messages.");
            }

            filled += read;
        }

        return count / Stopwatch.GetElapsedTime(clock).TotalSeconds;
    }

    /// <summary>Reads until the end of the HTTP response head; returns where the frames begin.</summary>
    private static int ReadResponseHead(SslStream tls, byte[] buffer, ref int filled)
    {
        while (true)
        {
            int end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
            if (end >= 0)
            {
                if (!buffer.AsSpan(0, filled).StartsWith("HTTP/1.1 101"u8))
                {
                    throw new IOException("The server refused the upgrade.");
                }

                return end + 4;
            }

            int read = tls.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                throw new IOException("The server closed during the upgrade.");
            }

            filled += read;
        }
    }

    /// <summary>A whole server frame at the start of <paramref name="data"/>, if there is one: its total length and FIN bit.</summary>
    private static bool TryFrame(ReadOnlySpan<byte> data, out int frameLength, out bool fin)
    {
        frameLength = 0;
        fin = false;
        if (!FrameHeader.TryRead(data, out FrameHeader header, out int headerLength) || data.Length - headerLength < header.PayloadLength)
        {
            return false;
        }

        frameLength = headerLength + (int)header.PayloadLength;
        fin = header.Fin;
        return true;
    }
}
