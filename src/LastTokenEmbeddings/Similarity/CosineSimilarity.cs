using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LastTokenEmbeddings.Similarity;

/// <summary>Cosine similarity between embedding vectors.</summary>
public static class CosineSimilarity
{
    // Query rows scored together against one corpus tile: their scores fit a small buffer and they reuse the tile
    // while it is in cache.
    private const int QueryBlockRows = 64;

    // Corpus rows per tile: about 64 KiB, so a tile stays in L2 while every query block is scored against it.
    private const int CorpusTileBytes = 64 * 1024;

    /// <summary>
    /// Cosine similarity of two vectors, clamped to [-1, 1]. The similarity involving a zero vector is defined as 0
    /// (not NaN). Vectors whose squared norm overflows <see cref="float"/> are computed in double precision.
    /// A NaN element yields NaN.
    /// </summary>
    /// <param name="a">First vector.</param>
    /// <param name="b">Second vector, of the same length.</param>
    /// <returns>The cosine similarity.</returns>
    /// <exception cref="ArgumentException">The vectors are empty or have different lengths.</exception>
    public static float Compute(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"The vectors have different lengths ({a.Length} and {b.Length}).", nameof(b));
        }

        if (a.Length == 0)
        {
            throw new ArgumentException("The vectors are empty.", nameof(a));
        }

        return Core(a, b);
    }

    /// <summary>
    /// Cosine similarities of every query with every document: element <c>[i, j]</c> is
    /// <see cref="Compute"/>(<c>queries[i]</c>, <c>documents[j]</c>).
    /// </summary>
    /// <param name="queries">The query vectors; all of the same, non-zero length.</param>
    /// <param name="documents">The document vectors; same length as the queries.</param>
    /// <returns>A <c>queries.Count × documents.Count</c> matrix.</returns>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A vector is empty or its length differs from the others.</exception>
    public static float[,] Matrix(IReadOnlyList<ReadOnlyMemory<float>> queries, IReadOnlyList<ReadOnlyMemory<float>> documents)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        int dimension = -1;
        CheckLengths(queries, nameof(queries), ref dimension);
        CheckLengths(documents, nameof(documents), ref dimension);

        var result = new float[queries.Count, documents.Count];
        for (int i = 0; i < queries.Count; i++)
        {
            ReadOnlySpan<float> q = queries[i].Span;
            for (int j = 0; j < documents.Count; j++)
            {
                result[i, j] = Core(q, documents[j].Span);
            }
        }

        return result;
    }

    /// <summary>
    /// Cosine similarities of every query with every document: element <c>[i, j]</c> is
    /// <see cref="Compute"/>(<c>queries[i]</c>, <c>documents[j]</c>).
    /// </summary>
    /// <param name="queries">The query vectors; all of the same, non-zero length.</param>
    /// <param name="documents">The document vectors; same length as the queries.</param>
    /// <returns>A <c>queries.Count × documents.Count</c> matrix.</returns>
    /// <exception cref="ArgumentNullException">A list is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A vector is <see langword="null"/>, empty, or its length differs from the others.</exception>
    public static float[,] Matrix(IReadOnlyList<float[]> queries, IReadOnlyList<float[]> documents)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(documents);
        return Matrix(ToMemories(queries, nameof(queries)), ToMemories(documents, nameof(documents)));
    }

    /// <summary>
    /// Cosine similarities of every query row with every corpus row, computed as one blocked matrix product
    /// (element <c>[i, j]</c> is <c>queries.Row(i)</c> · <c>corpus.Row(j)</c> / (‖query‖ ‖row‖), clamped to [-1, 1]).
    /// The rows need not be normalised: <see cref="EmbeddingMatrix"/> knows its row norms. A zero row scores 0.
    /// </summary>
    /// <param name="queries">The query rows.</param>
    /// <param name="corpus">The corpus rows, of the same dimensions (unless either matrix has no rows).</param>
    /// <returns>A <c>queries.RowCount × corpus.RowCount</c> matrix.</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The matrices' dimensions differ.</exception>
    public static float[,] Matrix(EmbeddingMatrix queries, EmbeddingMatrix corpus)
    {
        CheckDimensions(queries, corpus);
        var result = new float[queries.RowCount, corpus.RowCount];
        if (result.Length == 0)
        {
            return result;
        }

        int dimensions = queries.Dimensions;
        Span<float> all = MemoryMarshal.CreateSpan(ref result[0, 0], result.Length);
        int stride = corpus.RowCount;
        int tileRows = CorpusTileRows(dimensions);
        for (int tileStart = 0; tileStart < corpus.RowCount; tileStart += tileRows)
        {
            int tileCount = Math.Min(tileRows, corpus.RowCount - tileStart);
            ReadOnlySpan<float> tile = corpus.Values.Span.Slice(tileStart * dimensions, tileCount * dimensions);
            for (int blockStart = 0; blockStart < queries.RowCount; blockStart += QueryBlockRows)
            {
                int blockCount = Math.Min(QueryBlockRows, queries.RowCount - blockStart);
                FloatDotProducts.Compute(
                    queries.Values.Span.Slice(blockStart * dimensions, blockCount * dimensions),
                    blockCount,
                    tile,
                    tileCount,
                    dimensions,
                    all.Slice((blockStart * stride) + tileStart),
                    stride);
            }
        }

        ReadOnlySpan<float> corpusInverseNorms = corpus.InverseNorms;
        for (int i = 0; i < queries.RowCount; i++)
        {
            Span<float> row = all.Slice(i * stride, stride);
            TensorPrimitives.Multiply(row, corpusInverseNorms, row);
            TensorPrimitives.Multiply(row, queries.InverseNorm(i), row);
            TensorPrimitives.Clamp(row, -1f, 1f, row);
        }

        return result;
    }

    /// <summary>
    /// For each query row, the <paramref name="k"/> corpus rows of highest cosine similarity (exact search, as
    /// <see cref="Matrix(EmbeddingMatrix, EmbeddingMatrix)"/> scores them), best first; equal scores are ordered by
    /// lower corpus index. The scores are computed a block at a time and selected with a bounded heap, so the full
    /// score matrix is never held. The rows need not be normalised.
    /// </summary>
    /// <param name="queries">The query rows.</param>
    /// <param name="corpus">The corpus rows, of the same dimensions (unless either matrix has no rows). May be empty.</param>
    /// <param name="k">How many hits to keep per query, at least 1; a query gets <c>min(k, corpus.RowCount)</c>.</param>
    /// <returns>One array of hits per query row.</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The matrices' dimensions differ.</exception>
    public static SearchHit<float>[][] TopK(EmbeddingMatrix queries, EmbeddingMatrix corpus, int k)
    {
        CheckDimensions(queries, corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var results = new SearchHit<float>[queries.RowCount][];
        int dimensions = queries.Dimensions;
        int tileRows = CorpusTileRows(dimensions);
        int capacity = Math.Min(k, corpus.RowCount);
        var scores = new float[QueryBlockRows * tileRows];
        var selectors = new TopKSelector<float>[Math.Min(QueryBlockRows, queries.RowCount)];
        ReadOnlySpan<float> corpusInverseNorms = corpus.InverseNorms;
        for (int blockStart = 0; blockStart < queries.RowCount; blockStart += QueryBlockRows)
        {
            int blockCount = Math.Min(QueryBlockRows, queries.RowCount - blockStart);
            ReadOnlySpan<float> block = queries.Values.Span.Slice(blockStart * dimensions, blockCount * dimensions);
            for (int r = 0; r < blockCount; r++)
            {
                selectors[r] = new TopKSelector<float>(capacity);
            }

            for (int tileStart = 0; tileStart < corpus.RowCount; tileStart += tileRows)
            {
                int tileCount = Math.Min(tileRows, corpus.RowCount - tileStart);
                FloatDotProducts.Compute(
                    block, blockCount, corpus.Values.Span.Slice(tileStart * dimensions, tileCount * dimensions), tileCount, dimensions, scores, tileCount);
                for (int r = 0; r < blockCount; r++)
                {
                    Span<float> row = scores.AsSpan(r * tileCount, tileCount);
                    TensorPrimitives.Multiply(row, corpusInverseNorms.Slice(tileStart, tileCount), row);
                    TensorPrimitives.Multiply(row, queries.InverseNorm(blockStart + r), row);
                    TensorPrimitives.Clamp(row, -1f, 1f, row);
                    TopKSelector<float> selector = selectors[r];
                    for (int j = 0; j < row.Length; j++)
                    {
                        selector.Offer(row[j], tileStart + j);
                    }
                }
            }

            for (int r = 0; r < blockCount; r++)
            {
                results[blockStart + r] = selectors[r].ToSortedHits();
            }
        }

        return results;
    }

    /// <summary>Rows per corpus tile for <paramref name="dimensions"/>-wide rows: even, at least 16.</summary>
    private static int CorpusTileRows(int dimensions) =>
        Math.Max(16, CorpusTileBytes / sizeof(float) / Math.Max(1, dimensions)) & ~1;

    /// <summary>Validates two matrices to be compared; a matrix without rows matches any dimensions.</summary>
    internal static void CheckDimensions(EmbeddingMatrix queries, EmbeddingMatrix corpus)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        if (queries.RowCount > 0 && corpus.RowCount > 0 && queries.Dimensions != corpus.Dimensions)
        {
            throw new ArgumentException(
                $"The queries have {queries.Dimensions} dimensions but the corpus has {corpus.Dimensions}.", nameof(corpus));
        }
    }

    private static ReadOnlyMemory<float>[] ToMemories(IReadOnlyList<float[]> vectors, string paramName)
    {
        var result = new ReadOnlyMemory<float>[vectors.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = vectors[i] ?? throw new ArgumentException($"Vector {i} is null.", paramName);
        }

        return result;
    }

    private static void CheckLengths(IReadOnlyList<ReadOnlyMemory<float>> vectors, string paramName, ref int dimension)
    {
        for (int i = 0; i < vectors.Count; i++)
        {
            int length = vectors[i].Length;
            if (length == 0)
            {
                throw new ArgumentException($"Vector {i} is empty.", paramName);
            }

            if (dimension < 0)
            {
                dimension = length;
            }
            else if (length != dimension)
            {
                throw new ArgumentException($"Vector {i} has length {length}, expected {dimension}.", paramName);
            }
        }
    }

    private static float Core(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float r = TensorPrimitives.CosineSimilarity(a, b);
        if (float.IsNaN(r))
        {
            if (TensorPrimitives.MaxMagnitude(a) == 0f || TensorPrimitives.MaxMagnitude(b) == 0f)
            {
                return 0f;
            }

            r = (float)InDouble(a, b);
        }

        return Math.Clamp(r, -1f, 1f);
    }

    private static double InDouble(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        // Scale by the largest magnitude first, so squares of huge (finite) values cannot overflow.
        double sa = Math.Abs((double)TensorPrimitives.MaxMagnitude(a));
        double sb = Math.Abs((double)TensorPrimitives.MaxMagnitude(b));
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double x = a[i] / sa;
            double y = b[i] / sb;
            dot += x * y;
            na += x * x;
            nb += y * y;
        }

        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }
}
