using System.Runtime.InteropServices;

namespace FastSidecar.Protocol.Deflate;

/// <summary>
/// The raw zlib surface of the shared framework's own native compression library (the one <c>DeflateStream</c> and
/// <c>ClientWebSocket</c>'s permessage-deflate run on).
/// </summary>
/// <remarks>
/// Why not <c>DeflateStream</c>: .NET 10 exposes no public deflater with a window size other than 15, no per-call
/// flush mode and no bounded inflate step, and RFC 7692 needs all three (client_max_window_bits, the sync-flush tail,
/// stopping a decompression bomb at the message limit). The exports used here are versioned (<c>@V1.0</c>) and ship
/// with every .NET runtime since 5 on every platform; they are internal to the framework, so a future runtime that
/// renamed them would fail loudly at the first compressed connection (<see cref="EntryPointNotFoundException"/>),
/// never silently. <see cref="ZStream"/> mirrors <c>PAL_ZStream</c> (pal_zlib.h): the native side keeps the real
/// <c>z_stream</c> behind <see cref="ZStream.InternalState"/> and copies these fields in and out on each call, so the
/// struct only needs a stable address during a call; we keep it in native memory anyway, one per direction.
/// </remarks>
internal static unsafe partial class ZLibNative
{
    private const string Library = "libSystem.IO.Compression.Native";

    public const int Ok = 0;
    public const int StreamEnd = 1;
    public const int StreamError = -2;
    public const int DataError = -3;
    public const int MemError = -4;
    public const int BufError = -5;

    public const int NoFlush = 0;
    public const int SyncFlush = 2;

    public const int Deflated = 8;
    public const int DefaultStrategy = 0;

    /// <summary>zlib's default: 128 KiB of deflate state for a 15-bit window; the level of ClientWebSocket's deflater.</summary>
    public const int DefaultMemLevel = 8;

    [StructLayout(LayoutKind.Sequential)]
    public struct ZStream
    {
        public byte* NextIn;
        public byte* NextOut;
        public byte* Message;
        public void* InternalState;
        public uint AvailIn;
        public uint AvailOut;
    }

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateInit2_")]
    public static partial int DeflateInit2(ZStream* stream, int level, int method, int windowBits, int memLevel, int strategy);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Deflate")]
    public static partial int Deflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_DeflateEnd")]
    public static partial int DeflateEnd(ZStream* stream);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateInit2_")]
    public static partial int InflateInit2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_Inflate")]
    public static partial int Inflate(ZStream* stream, int flush);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateReset2_")]
    public static partial int InflateReset2(ZStream* stream, int windowBits);

    [LibraryImport(Library, EntryPoint = "CompressionNative_InflateEnd")]
    public static partial int InflateEnd(ZStream* stream);
}
