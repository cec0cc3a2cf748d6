using FastSidecar.Protocol.Handshake;

namespace FastSidecar.Fuzz;

/// <summary>
/// Feeds arbitrary bytes to <see cref="ProxyConnectResponse.TryParse"/> as a proxy's answer to CONNECT. Any exception is
/// a finding; so is a complete answer whose length is not the end of a header block within the limit, and an outcome
/// that a longer read would contradict (the tunnel parses what it has read so far, again after each read).
/// </summary>
internal static class ProxyConnectTarget
{
    // Small, so the size limit is within reach of the inputs the fuzzer generates.
    private const int MaxHeaderBytes = 512;

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        ReadOnlySpan<byte> data = input[1..];
        ProxyConnectParse whole = ProxyConnectResponse.TryParse(data, MaxHeaderBytes, out int status, out string? reason, out int length);
        Check(data, whole, status, reason, length);

        // What a first, shorter read would have seen must not disagree with the whole.
        int cut = data.IsEmpty ? 0 : input[0] % (data.Length + 1);
        ProxyConnectParse prefix = ProxyConnectResponse.TryParse(data[..cut], MaxHeaderBytes, out int prefixStatus, out string? prefixReason, out int prefixLength);
        Check(data[..cut], prefix, prefixStatus, prefixReason, prefixLength);
        if (prefix == ProxyConnectParse.Complete && (whole != ProxyConnectParse.Complete || prefixStatus != status || prefixLength != length || prefixReason != reason))
        {
            throw new InvalidOperationException($"A prefix of {cut} bytes was complete ({prefixStatus}, {prefixLength}) but the whole gave {whole} ({status}, {length}).");
        }

        if (prefix == ProxyConnectParse.Invalid && whole != ProxyConnectParse.Invalid)
        {
            throw new InvalidOperationException($"A prefix of {cut} bytes was invalid but the whole gave {whole}.");
        }
    }

    private static void Check(ReadOnlySpan<byte> data, ProxyConnectParse parse, int status, string? reason, int length)
    {
        if (parse != ProxyConnectParse.Complete)
        {
            return;
        }

        if (length < 4 || length > data.Length || length > MaxHeaderBytes || !data[(length - 4)..length].SequenceEqual("\r\n\r\n"u8))
        {
            throw new InvalidOperationException($"Complete with a header length of {length} for {data.Length} bytes.");
        }

        if (data[..(length - 4)].IndexOf("\r\n\r\n"u8) >= 0)
        {
            throw new InvalidOperationException("Complete past the first blank line.");
        }

        if (status is < 100 or > 999 || (reason is not null && reason.Length > 128))
        {
            throw new InvalidOperationException($"Status {status}, reason of {reason?.Length} characters.");
        }
    }
}
