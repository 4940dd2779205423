using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace LastTokenEmbeddings.Similarity;

/// <summary>
/// Dot products of a block of query rows with a block of corpus rows (a small matrix multiply Q·Cᵀ). Register
/// blocking (4 queries × 2 corpus rows per pass, 8 accumulators) loads each vector once per 8 multiply-adds instead
/// of once per 1, which is what makes this several times faster than one <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> per pair.
/// </summary>
internal static class FloatDotProducts
{
    /// <summary>
    /// <c>scores[qi * scoreStride + cj] = queries[qi] · corpus[cj]</c> for every query row <c>qi</c> and corpus row
    /// <c>cj</c> of the (row-major, <paramref name="dimensions"/>-wide) blocks.
    /// </summary>
    public static void Compute(
        ReadOnlySpan<float> queries, int queryCount, ReadOnlySpan<float> corpus, int corpusCount, int dimensions, Span<float> scores, int scoreStride)
    {
        int qi = 0;
        if (Vector256.IsHardwareAccelerated && dimensions >= Vector256<float>.Count)
        {
            for (; qi + 4 <= queryCount; qi += 4)
            {
                ReadOnlySpan<float> q = queries.Slice(qi * dimensions, 4 * dimensions);
                int cj = 0;
                for (; cj + 2 <= corpusCount; cj += 2)
                {
                    Kernel4x2(q, corpus.Slice(cj * dimensions, 2 * dimensions), dimensions, scores.Slice((qi * scoreStride) + cj), scoreStride);
                }

                for (; cj < corpusCount; cj++)
                {
                    ReadOnlySpan<float> c = corpus.Slice(cj * dimensions, dimensions);
                    for (int r = 0; r < 4; r++)
                    {
                        scores[((qi + r) * scoreStride) + cj] = TensorPrimitives.Dot(q.Slice(r * dimensions, dimensions), c);
                    }
                }
            }
        }

        for (; qi < queryCount; qi++)
        {
            ReadOnlySpan<float> q = queries.Slice(qi * dimensions, dimensions);
            Span<float> row = scores.Slice(qi * scoreStride, corpusCount);
            for (int cj = 0; cj < corpusCount; cj++)
            {
                row[cj] = TensorPrimitives.Dot(q, corpus.Slice(cj * dimensions, dimensions));
            }
        }
    }

    private static void Kernel4x2(ReadOnlySpan<float> queries, ReadOnlySpan<float> corpus, int dimensions, Span<float> scores, int scoreStride)
    {
        ref float q0 = ref MemoryMarshal.GetReference(queries);
        ref float q1 = ref Unsafe.Add(ref q0, dimensions);
        ref float q2 = ref Unsafe.Add(ref q1, dimensions);
        ref float q3 = ref Unsafe.Add(ref q2, dimensions);
        ref float c0 = ref MemoryMarshal.GetReference(corpus);
        ref float c1 = ref Unsafe.Add(ref c0, dimensions);

        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        nuint d = (nuint)dimensions;
        nuint i = 0;
        for (; i + (nuint)Vector256<float>.Count <= d; i += (nuint)Vector256<float>.Count)
        {
            Vector256<float> x0 = Vector256.LoadUnsafe(ref c0, i);
            Vector256<float> x1 = Vector256.LoadUnsafe(ref c1, i);
            Vector256<float> y = Vector256.LoadUnsafe(ref q0, i);
            a00 = Vector256.MultiplyAddEstimate(y, x0, a00);
            a01 = Vector256.MultiplyAddEstimate(y, x1, a01);
            y = Vector256.LoadUnsafe(ref q1, i);
            a10 = Vector256.MultiplyAddEstimate(y, x0, a10);
            a11 = Vector256.MultiplyAddEstimate(y, x1, a11);
            y = Vector256.LoadUnsafe(ref q2, i);
            a20 = Vector256.MultiplyAddEstimate(y, x0, a20);
            a21 = Vector256.MultiplyAddEstimate(y, x1, a21);
            y = Vector256.LoadUnsafe(ref q3, i);
            a30 = Vector256.MultiplyAddEstimate(y, x0, a30);
            a31 = Vector256.MultiplyAddEstimate(y, x1, a31);
        }

        float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11);
        float s20 = Vector256.Sum(a20), s21 = Vector256.Sum(a21), s30 = Vector256.Sum(a30), s31 = Vector256.Sum(a31);
        for (; i < d; i++)
        {
            float x0 = Unsafe.Add(ref c0, i), x1 = Unsafe.Add(ref c1, i);
            float y0 = Unsafe.Add(ref q0, i), y1 = Unsafe.Add(ref q1, i), y2 = Unsafe.Add(ref q2, i), y3 = Unsafe.Add(ref q3, i);
            s00 += y0 * x0;
            s01 += y0 * x1;
            s10 += y1 * x0;
            s11 += y1 * x1;
            s20 += y2 * x0;
            s21 += y2 * x1;
            s30 += y3 * x0;
            s31 += y3 * x1;
        }

        scores[0] = s00;
        scores[1] = s01;
        scores[scoreStride] = s10;
        scores[scoreStride + 1] = s11;
        scores[2 * scoreStride] = s20;
        scores[(2 * scoreStride) + 1] = s21;
        scores[3 * scoreStride] = s30;
        scores[(3 * scoreStride) + 1] = s31;
    }
}
