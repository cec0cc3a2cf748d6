using System.Globalization;
using System.Text;
using FastSidecar.Protocol;

namespace FastSidecar.Benchmarks.Peers;

/// <summary>
/// The flood command the independent peers understand: text <c>@@flood:N:S</c> asks for N binary messages of S bytes
/// (the project's own server takes a decimal count on its <c>/flood</c> path instead).
/// </summary>
public static class FloodRequest
{
    private const string Prefix = "@@flood:";

    /// <summary>The command's text.</summary>
    public static byte[] Encode(long count, int size) =>
        Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{count}:{size}"));

    /// <summary>True when a frame of <paramref name="opcode"/> carrying <paramref name="payload"/> is a flood command.</summary>
    internal static bool TryParse(Opcode opcode, ReadOnlySpan<byte> payload, out long count, out int size)
    {
        count = 0;
        size = 0;
        // Checked per echoed frame, so the common answer (not a command) allocates nothing.
        if (opcode != Opcode.Text || !payload.StartsWith("@@flood:"u8))
        {
            return false;
        }

        string[] parts = Encoding.ASCII.GetString(payload[Prefix.Length..]).Split(':');
        return parts.Length == 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out count)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out size)
            && size is >= 0 and <= 1 << 19;
    }
}
