using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastSidecar.Protocol;

/// <summary>The XOR masking of RFC 6455 §5.3, vectorised.</summary>
/// <remarks>
/// Both methods take the offset into the 4-byte key at which <c>data[0]</c> sits and return the offset for the byte
/// after the last one, so a payload that arrives in pieces is unmasked piece by piece with no state but that number.
/// The key is rotated once so that the vector loops always start at key byte 0; every vector width is a multiple of 4,
/// so the pattern stays aligned through the widest loop, then the narrower ones, then the scalar tail.
/// </remarks>
internal static class Masking
{
    /// <summary>Masks (or unmasks) <paramref name="data"/> in place.</summary>
    /// <returns>The mask offset (0–3) for the byte after <paramref name="data"/>.</returns>
    public static int Apply(Span<byte> data, int maskKey, int maskOffset) =>
        Copy(data, data, maskKey, maskOffset);

    /// <summary>Writes <paramref name="source"/> masked into <paramref name="destination"/>.</summary>
    /// <remarks>The spans may be the same memory; any other overlap is not supported.</remarks>
    /// <returns>The mask offset (0–3) for the byte after the copied bytes.</returns>
    public static int Copy(ReadOnlySpan<byte> source, Span<byte> destination, int maskKey, int maskOffset)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException("The destination is shorter than the source.", nameof(destination));
        }

        int length = source.Length;
        // Rotate so the logical key starts at maskOffset: byte 0 of the rotated key is key byte maskOffset.
        uint rotated = BitOperations.RotateRight((uint)maskKey, (maskOffset & 3) * 8);
        // The vector and 64-bit loops XOR memory with a memory pattern; the logical key is little-endian.
        uint pattern = BitConverter.IsLittleEndian ? rotated : BinaryPrimitives.ReverseEndianness(rotated);

        ref byte src = ref MemoryMarshal.GetReference(source);
        ref byte dst = ref MemoryMarshal.GetReference(destination);
        nuint i = 0;
        nuint n = (nuint)length;

        if (Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<byte>.Count)
        {
            Vector512<byte> mask = Vector512.Create(pattern).AsByte();
            for (; i + (nuint)Vector512<byte>.Count <= n; i += (nuint)Vector512<byte>.Count)
            {
                (Vector512.LoadUnsafe(ref src, i) ^ mask).StoreUnsafe(ref dst, i);
            }
        }

        if (Vector256.IsHardwareAccelerated && n - i >= (nuint)Vector256<byte>.Count)
        {
            Vector256<byte> mask = Vector256.Create(pattern).AsByte();
            for (; i + (nuint)Vector256<byte>.Count <= n; i += (nuint)Vector256<byte>.Count)
            {
                (Vector256.LoadUnsafe(ref src, i) ^ mask).StoreUnsafe(ref dst, i);
            }
        }

        if (Vector128.IsHardwareAccelerated && n - i >= (nuint)Vector128<byte>.Count)
        {
            Vector128<byte> mask = Vector128.Create(pattern).AsByte();
            for (; i + (nuint)Vector128<byte>.Count <= n; i += (nuint)Vector128<byte>.Count)
            {
                (Vector128.LoadUnsafe(ref src, i) ^ mask).StoreUnsafe(ref dst, i);
            }
        }

        ulong wide = pattern | ((ulong)pattern << 32);
        for (; i + sizeof(ulong) <= n; i += sizeof(ulong))
        {
            ulong value = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, i)) ^ wide;
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, i), value);
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dst, i) = (byte)(Unsafe.Add(ref src, i) ^ (byte)(rotated >> (int)((i & 3) * 8)));
        }

        return (maskOffset + length) & 3;
    }
}
