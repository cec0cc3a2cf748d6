using System.Buffers;
using System.Buffers.Text;
using System.Diagnostics;
using System.Security.Cryptography;

namespace FastSidecar.Protocol.Handshake;

/// <summary>
/// The key/accept pair of RFC 6455 §4.1 and §4.2.2, kept as ASCII bytes so that neither side of the handshake
/// has to build strings to compare them.
/// </summary>
internal static class WebSocketAccept
{
    /// <summary>Length of a Sec-WebSocket-Key: base64 of 16 bytes.</summary>
    public const int KeyLength = 24;

    /// <summary>Length of a Sec-WebSocket-Accept: base64 of a 20-byte SHA-1.</summary>
    public const int AcceptLength = 28;

    private const int NonceLength = 16;

    private static ReadOnlySpan<byte> Guid => "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"u8;

    /// <summary>Writes a fresh key from 16 bytes of <see cref="RandomNumberGenerator"/>.</summary>
    public static void NewKey(Span<byte> keyAscii)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        RandomNumberGenerator.Fill(nonce);
        KeyFromNonce(nonce, keyAscii);
    }

    /// <summary>Writes the key that encodes <paramref name="nonce"/>; tests pass a fixed nonce to get golden text.</summary>
    public static void KeyFromNonce(ReadOnlySpan<byte> nonce, Span<byte> keyAscii)
    {
        if (nonce.Length != NonceLength)
        {
            throw new ArgumentException("A Sec-WebSocket-Key nonce is exactly 16 bytes.", nameof(nonce));
        }

        OperationStatus status = Base64.EncodeToUtf8(nonce, keyAscii, out _, out int written);
        Debug.Assert(status == OperationStatus.Done && written == KeyLength);
    }

    /// <summary>True when <paramref name="keyAscii"/> is the base64 form of exactly 16 bytes, as §4.2.1 item 5 asks.</summary>
    public static bool IsValidKey(ReadOnlySpan<byte> keyAscii)
    {
        // Base64.IsValid skips embedded whitespace, so the fixed length check is what rules it out.
        return keyAscii.Length == KeyLength
            && Base64.IsValid(keyAscii, out int decodedLength)
            && decodedLength == NonceLength;
    }

    /// <summary>Writes base64(SHA-1(key + GUID)) for a key of exactly <see cref="KeyLength"/> bytes.</summary>
    public static void Compute(ReadOnlySpan<byte> keyAscii, Span<byte> acceptAscii)
    {
        if (keyAscii.Length != KeyLength)
        {
            throw new ArgumentException("A Sec-WebSocket-Key is exactly 24 base64 characters.", nameof(keyAscii));
        }

        Span<byte> input = stackalloc byte[KeyLength + 36];
        keyAscii.CopyTo(input);
        Guid.CopyTo(input[KeyLength..]);

        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 here; it proves the peer speaks WebSocket, it is not a security hash.
        SHA1.HashData(input, hash);
#pragma warning restore CA5350

        OperationStatus status = Base64.EncodeToUtf8(hash, acceptAscii, out _, out int written);
        Debug.Assert(status == OperationStatus.Done && written == AcceptLength);
    }
}
