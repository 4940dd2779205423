using System.Numerics;
using System.Numerics.Tensors;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Scalar (int8 / uint8) quantization with the semantics of sentence-transformers' <c>quantize_embeddings</c>, and
/// exact integer search over the codes.
/// </summary>
/// <remarks>
/// <para>
/// For dimension d with range [min, max] (<see cref="QuantizationRanges"/>), <c>step = (max − min) / 255</c> and
/// <c>u = (x − min) / step</c>, all in float32; the uint8 code is <c>u</c> and the int8 code is <c>u − 128</c>, each
/// truncated toward zero, as numpy's <c>astype</c> does. Inside the calibrated range (u in [0, 255]) every code equals
/// sentence-transformers' bit for bit. Outside it numpy's float-to-integer cast is undefined behaviour in C (on x86 it
/// wraps around, so a value just above the maximum can become the lowest code); here codes saturate instead: uint8 to
/// [0, 255], int8 to [−128, 127]. A dimension whose range is a single value (step 0) maps values at or below it to
/// the lowest code and values above it to the highest, where numpy would divide by zero.
/// </para>
/// <para>
/// Because of truncation toward zero, int8 is not uint8 − 128: u in [0, 1) gives uint8 0 but int8 −127, and int8 0
/// covers u in (127, 129), two steps. Both follow sentence-transformers so that codes interoperate.
/// </para>
/// </remarks>
public static class ScalarQuantization
{
    // Query rows scored together against one tile of codes.
    private const int QueryBlockRows = 64;

    // Bytes of codes per corpus tile, so a tile stays in L2 while a query block is scored against it.
    private const int CorpusTileBytes = 128 * 1024;

    /// <summary>Quantizes embeddings to int8 codes.</summary>
    /// <param name="embeddings">The embeddings (0 rows allowed).</param>
    /// <param name="ranges">The calibration, of the embeddings' dimensions.</param>
    /// <returns>The codes, carrying <paramref name="ranges"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The dimensions differ, or exceed <see cref="ScalarQuantizedMatrix{T}.MaxDimensions"/>.</exception>
    public static ScalarQuantizedMatrix<sbyte> QuantizeInt8(EmbeddingMatrix embeddings, QuantizationRanges ranges)
    {
        var codes = new sbyte[Check(embeddings, ranges)];
        Quantize<sbyte>(embeddings, ranges, codes);
        return new ScalarQuantizedMatrix<sbyte>(codes, ranges);
    }

    /// <summary>Quantizes embeddings to uint8 codes.</summary>
    /// <param name="embeddings">The embeddings (0 rows allowed).</param>
    /// <param name="ranges">The calibration, of the embeddings' dimensions.</param>
    /// <returns>The codes, carrying <paramref name="ranges"/>.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The dimensions differ, or exceed <see cref="ScalarQuantizedMatrix{T}.MaxDimensions"/>.</exception>
    public static ScalarQuantizedMatrix<byte> QuantizeUInt8(EmbeddingMatrix embeddings, QuantizationRanges ranges)
    {
        var codes = new byte[Check(embeddings, ranges)];
        Quantize<byte>(embeddings, ranges, codes);
        return new ScalarQuantizedMatrix<byte>(codes, ranges);
    }

    /// <summary>
    /// Approximate embeddings back from codes: each code becomes the centre of the values that produce it
    /// (<c>min + u·step</c>, u the centre of the code's interval, kept within [0, 255]), so the error per dimension is
    /// at most one step (two for int8's double-width 0 code).
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/> or <see cref="byte"/>.</typeparam>
    /// <param name="quantized">The codes.</param>
    /// <returns>A new float matrix.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="quantized"/> is <see langword="null"/>.</exception>
    public static EmbeddingMatrix Dequantize<T>(ScalarQuantizedMatrix<T> quantized)
        where T : unmanaged, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(quantized);
        var values = new float[quantized.Values.Length];
        for (int i = 0; i < quantized.RowCount; i++)
        {
            DequantizeRow(quantized.Row(i), quantized.Ranges, values.AsSpan(i * quantized.Dimensions, quantized.Dimensions));
        }

        return EmbeddingMatrix.FromFlat(values, quantized.Dimensions);
    }

    /// <summary>The dot product of two int8 vectors, exact (32-bit accumulation).</summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector, of the same length.</param>
    /// <returns>Σ a[i]·b[i].</returns>
    /// <exception cref="ArgumentException">
    /// The lengths differ or exceed <see cref="ScalarQuantizedMatrix{T}.MaxDimensions"/> (the sum could overflow).
    /// </exception>
    public static int DotProduct(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        CheckLengths(a.Length, b.Length, ScalarQuantizedMatrix<sbyte>.MaxDimensions);
        return IntegerDotProducts.Dot(a, b);
    }

    /// <summary>The dot product of two uint8 vectors, exact (32-bit accumulation).</summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector, of the same length.</param>
    /// <returns>Σ a[i]·b[i].</returns>
    /// <exception cref="ArgumentException">
    /// The lengths differ or exceed <see cref="ScalarQuantizedMatrix{T}.MaxDimensions"/> (the sum could overflow).
    /// </exception>
    public static int DotProduct(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        CheckLengths(a.Length, b.Length, ScalarQuantizedMatrix<byte>.MaxDimensions);
        return IntegerDotProducts.Dot(a, b);
    }

    /// <summary>
    /// For each query row, the <paramref name="k"/> corpus rows with the highest code dot product (exact search, as
    /// sentence-transformers' int8 / uint8 inner-product search scores them), best first; equal scores by lower index.
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/> or <see cref="byte"/>.</typeparam>
    /// <param name="queries">The query codes.</param>
    /// <param name="corpus">The corpus codes (may be empty), quantized with ranges equal to the queries'.</param>
    /// <param name="k">How many hits to keep per query, at least 1; a query gets <c>min(k, corpus.RowCount)</c>.</param>
    /// <returns>One array of hits per query row; <see cref="SearchHit{TScore}.Score"/> is the dot product.</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The dimensions or the calibration ranges differ (codes would not be comparable).</exception>
    public static SearchHit<int>[][] TopK<T>(ScalarQuantizedMatrix<T> queries, ScalarQuantizedMatrix<T> corpus, int k)
        where T : unmanaged, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        if (queries.Dimensions != corpus.Dimensions)
        {
            throw new ArgumentException($"The queries have {queries.Dimensions} dimensions but the corpus has {corpus.Dimensions}.", nameof(corpus));
        }

        if (!queries.Ranges.Equals(corpus.Ranges))
        {
            throw new ArgumentException(
                "The queries and the corpus were quantized with different ranges; quantize both with one calibration.", nameof(corpus));
        }

        int dimensions = queries.Dimensions;
        int tileRows = Math.Max(16, CorpusTileBytes / dimensions);
        return BlockedTopK.Search<int>(
            queries.RowCount,
            corpus.RowCount,
            k,
            QueryBlockRows,
            tileRows,
            dimensions,
            (queryStart, queryCount, corpusStart, corpusCount, scores) =>
            {
                ReadOnlySpan<T> tile = corpus.Values.Span.Slice(corpusStart * dimensions, corpusCount * dimensions);
                for (int q = 0; q < queryCount; q++)
                {
                    ReadOnlySpan<T> query = queries.Values.Span.Slice((queryStart + q) * dimensions, dimensions);
                    Span<int> row = scores.Slice(q * corpusCount, corpusCount);
                    for (int c = 0; c < corpusCount; c++)
                    {
                        row[c] = Dot(query, tile.Slice(c * dimensions, dimensions));
                    }
                }
            });
    }

    /// <summary>Dot product of two code rows of either code type.</summary>
    internal static int Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
        where T : unmanaged, IBinaryInteger<T> =>
        typeof(T) == typeof(sbyte)
            ? IntegerDotProducts.Dot(System.Runtime.InteropServices.MemoryMarshal.Cast<T, sbyte>(a), System.Runtime.InteropServices.MemoryMarshal.Cast<T, sbyte>(b))
            : IntegerDotProducts.Dot(System.Runtime.InteropServices.MemoryMarshal.Cast<T, byte>(a), System.Runtime.InteropServices.MemoryMarshal.Cast<T, byte>(b));

    /// <summary>Writes the approximate embedding of one code row into <paramref name="destination"/>.</summary>
    internal static void DequantizeRow<T>(ReadOnlySpan<T> codes, QuantizationRanges ranges, Span<float> destination)
        where T : unmanaged, IBinaryInteger<T>
    {
        ReadOnlySpan<float> starts = ranges.Starts;
        ReadOnlySpan<float> steps = ranges.Steps;
        for (int d = 0; d < codes.Length; d++)
        {
            int code = int.CreateTruncating(codes[d]);
            float u;
            if (typeof(T) == typeof(byte))
            {
                // Code c came from u in [c, c + 1).
                u = code + 0.5f;
            }
            else
            {
                // v = u − 128 truncated toward zero: c > 0 from [c, c + 1), c < 0 from (c − 1, c], 0 from (−1, 1).
                u = code > 0 ? code + 128.5f : code < 0 ? code + 127.5f : 128f;
            }

            destination[d] = starts[d] + (Math.Clamp(u, 0f, 255f) * steps[d]);
        }
    }

    private static int Check(EmbeddingMatrix embeddings, QuantizationRanges ranges)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(ranges);
        if (embeddings.RowCount > 0 && embeddings.Dimensions != ranges.Dimensions)
        {
            throw new ArgumentException(
                $"The embeddings have {embeddings.Dimensions} dimensions but the ranges have {ranges.Dimensions}.", nameof(ranges));
        }

        return embeddings.RowCount * ranges.Dimensions;
    }

    private static void CheckLengths(int a, int b, int max)
    {
        if (a != b)
        {
            throw new ArgumentException($"The vectors have different lengths ({a} and {b}).", nameof(b));
        }

        if (a > max)
        {
            throw new ArgumentException($"Vectors of {a} elements exceed the {max} whose dot product fits an int.", nameof(a));
        }
    }

    /// <summary>
    /// Computes u = (x − min) / step per element (float32, as numpy), then the code: truncated toward zero and
    /// saturated, u for uint8 and u − 128 for int8.
    /// </summary>
    private static void Quantize<T>(EmbeddingMatrix embeddings, QuantizationRanges ranges, Span<T> codes)
        where T : unmanaged, IBinaryInteger<T>
    {
        int dimensions = ranges.Dimensions;
        var u = new float[dimensions];
        for (int i = 0; i < embeddings.RowCount; i++)
        {
            TensorPrimitives.Subtract(embeddings.Row(i), ranges.Starts, u);
            TensorPrimitives.Divide(u, ranges.Steps, u);
            Span<T> row = codes.Slice(i * dimensions, dimensions);
            for (int d = 0; d < dimensions; d++)
            {
                // Only 0 / 0 (x = min in a single-value range) gives NaN: the lowest code, like u = 0.
                float value = float.IsNaN(u[d]) ? 0f : u[d];
                if (typeof(T) == typeof(sbyte))
                {
                    float v = value - 128f;
                    row[d] = T.CreateTruncating(v >= 127f ? 127 : v <= -128f ? -128 : (int)v);
                }
                else
                {
                    row[d] = T.CreateTruncating(value >= 255f ? 255 : value <= 0f ? 0 : (int)value);
                }
            }
        }
    }
}
