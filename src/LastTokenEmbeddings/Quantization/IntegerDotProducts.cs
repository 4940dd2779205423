using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Exact integer kernels for quantized vectors: int8 / uint8 dot products accumulated in 32-bit lanes, and Hamming
/// distances over packed bits. Callers keep lengths within <see cref="ScalarQuantizedMatrix{T}.MaxDimensions"/>,
/// so no accumulator can overflow.
/// </summary>
internal static class IntegerDotProducts
{
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        ref sbyte pa = ref MemoryMarshal.GetReference(a);
        ref sbyte pb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint i = 0;
        int sum = 0;
        if (Avx2.IsSupported && length >= 32)
        {
            // Sign-extend 16 codes to shorts, then vpmaddwd: 16 products summed in pairs into 8 ints (|pair| ≤ 2·128²).
            Vector256<int> acc0 = default, acc1 = default;
            for (; i + 32 <= length; i += 32)
            {
                acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(
                    Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, i)), Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, i))));
                acc1 = Avx2.Add(acc1, Avx2.MultiplyAddAdjacent(
                    Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, i + 16)), Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, i + 16))));
            }

            sum = Vector256.Sum(acc0 + acc1);
        }
        else if (Vector128.IsHardwareAccelerated && length >= (nuint)Vector128<sbyte>.Count)
        {
            // Portable path (e.g. Arm64): |x·y| ≤ 128² fits a short; widen the products to int before adding.
            Vector128<int> acc0 = default, acc1 = default;
            for (; i + (nuint)Vector128<sbyte>.Count <= length; i += (nuint)Vector128<sbyte>.Count)
            {
                (Vector128<short> aLow, Vector128<short> aHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pa, i));
                (Vector128<short> bLow, Vector128<short> bHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pb, i));
                (Vector128<int> p0, Vector128<int> p1) = Vector128.Widen(aLow * bLow);
                (Vector128<int> p2, Vector128<int> p3) = Vector128.Widen(aHigh * bHigh);
                acc0 += p0 + p2;
                acc1 += p1 + p3;
            }

            sum = Vector128.Sum(acc0 + acc1);
        }

        for (; i < length; i++)
        {
            sum += Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i);
        }

        return sum;
    }

    public static int Dot(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        ref byte pa = ref MemoryMarshal.GetReference(a);
        ref byte pb = ref MemoryMarshal.GetReference(b);
        nuint length = (nuint)a.Length;
        nuint i = 0;
        uint sum = 0;
        if (Avx2.IsSupported && length >= 32)
        {
            // Zero-extend 16 codes to shorts, then vpmaddwd: pairs of products (≤ 2·255²) summed into 8 ints.
            Vector256<int> acc0 = default, acc1 = default;
            for (; i + 32 <= length; i += 32)
            {
                acc0 = Avx2.Add(acc0, Avx2.MultiplyAddAdjacent(
                    Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, i)).AsInt16(), Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, i)).AsInt16()));
                acc1 = Avx2.Add(acc1, Avx2.MultiplyAddAdjacent(
                    Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pa, i + 16)).AsInt16(), Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref pb, i + 16)).AsInt16()));
            }

            // Lanes hold at most MaxDimensions / 8 pair sums, so the total fits; add as uint to be safe near the limit.
            sum = Vector256.Sum(acc0.AsUInt32() + acc1.AsUInt32());
        }
        else if (Vector128.IsHardwareAccelerated && length >= (nuint)Vector128<byte>.Count)
        {
            // Portable path (e.g. Arm64): x·y ≤ 255² = 65 025 fits a ushort; widen the products to uint before adding.
            Vector128<uint> acc0 = default, acc1 = default;
            for (; i + (nuint)Vector128<byte>.Count <= length; i += (nuint)Vector128<byte>.Count)
            {
                (Vector128<ushort> aLow, Vector128<ushort> aHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pa, i));
                (Vector128<ushort> bLow, Vector128<ushort> bHigh) = Vector128.Widen(Vector128.LoadUnsafe(ref pb, i));
                (Vector128<uint> p0, Vector128<uint> p1) = Vector128.Widen(aLow * bLow);
                (Vector128<uint> p2, Vector128<uint> p3) = Vector128.Widen(aHigh * bHigh);
                acc0 += p0 + p2;
                acc1 += p1 + p3;
            }

            sum = Vector128.Sum(acc0 + acc1);
        }

        for (; i < length; i++)
        {
            sum += (uint)(Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i));
        }

        return (int)sum;
    }

    public static int HammingDistance(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        ReadOnlySpan<ulong> wordsA = MemoryMarshal.Cast<byte, ulong>(a);
        ReadOnlySpan<ulong> wordsB = MemoryMarshal.Cast<byte, ulong>(b);
        int distance = 0;
        for (int w = 0; w < wordsA.Length; w++)
        {
            distance += BitOperations.PopCount(wordsA[w] ^ wordsB[w]);
        }

        for (int i = wordsA.Length * sizeof(ulong); i < a.Length; i++)
        {
            distance += BitOperations.PopCount((uint)(a[i] ^ b[i]));
        }

        return distance;
    }
}
