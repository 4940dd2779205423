using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace LastTokenEmbeddings.Similarity;

/// <summary>
/// Cosine similarity between embedding vectors: per pair (<see cref="Compute"/>), as a score matrix, and as exact
/// top-k search over an <see cref="EmbeddingMatrix"/> corpus.
/// </summary>
/// <remarks>
/// The <see cref="EmbeddingMatrix"/> overloads compute the query × corpus product with a register-blocked,
/// cache-tiled kernel (about as fast per core as TorchSharp's matmul on CPU) and use several threads when the work is
/// large; their results do not depend on the number of threads. Inputs need not be normalised.
/// </remarks>
public static class CosineSimilarity
{
    // Query rows scored together against one corpus tile: their scores fit a small buffer and they reuse the tile
    // while it is in cache.
    private const int QueryBlockRows = 64;

    // Corpus rows per tile: about 128 KiB, so a tile stays in L2 while every query block is scored against it.
    private const int CorpusTileBytes = 128 * 1024;

    // Below about this many multiply-adds a score matrix takes well under a millisecond: not worth waking threads.
    private const long ParallelWorkThreshold = 1L << 22;

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

        int stride = corpus.RowCount;
        int tileRows = CorpusTileRows(queries.Dimensions);
        void ScoreQueryBlock(int block)
        {
            int blockStart = block * QueryBlockRows;
            int blockCount = Math.Min(QueryBlockRows, queries.RowCount - blockStart);
            Span<float> rows = MemoryMarshal.CreateSpan(ref result[blockStart, 0], blockCount * stride);
            for (int tileStart = 0; tileStart < corpus.RowCount; tileStart += tileRows)
            {
                int tileCount = Math.Min(tileRows, corpus.RowCount - tileStart);
                ScoreBlock(queries, blockStart, blockCount, corpus, tileStart, tileCount, rows.Slice(tileStart), stride);
            }
        }

        int blockCount = (queries.RowCount + QueryBlockRows - 1) / QueryBlockRows;
        if (blockCount > 1 && (long)result.Length * queries.Dimensions >= ParallelWorkThreshold)
        {
            Parallel.For(0, blockCount, ScoreQueryBlock);
        }
        else
        {
            for (int block = 0; block < blockCount; block++)
            {
                ScoreQueryBlock(block);
            }
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
        int dimensions = queries.Dimensions;
        return BlockedTopK.Search<float>(
            queries.RowCount,
            corpus.RowCount,
            k,
            QueryBlockRows,
            CorpusTileRows(dimensions),
            dimensions,
            (queryStart, queryCount, corpusStart, corpusCount, scores) =>
                ScoreBlock(queries, queryStart, queryCount, corpus, corpusStart, corpusCount, scores, corpusCount));
    }

    /// <summary>Cosine similarities of a query block × corpus tile into <paramref name="scores"/> (row stride <paramref name="stride"/>).</summary>
    private static void ScoreBlock(
        EmbeddingMatrix queries, int queryStart, int queryCount, EmbeddingMatrix corpus, int corpusStart, int corpusCount, Span<float> scores, int stride)
    {
        int dimensions = queries.Dimensions;
        FloatDotProducts.Compute(
            queries.Values.Span.Slice(queryStart * dimensions, queryCount * dimensions),
            queryCount,
            corpus.Values.Span.Slice(corpusStart * dimensions, corpusCount * dimensions),
            corpusCount,
            dimensions,
            scores,
            stride);
        ReadOnlySpan<float> corpusInverseNorms = corpus.InverseNorms.Slice(corpusStart, corpusCount);
        for (int r = 0; r < queryCount; r++)
        {
            Span<float> row = scores.Slice(r * stride, corpusCount);
            TensorPrimitives.Multiply(row, corpusInverseNorms, row);
            TensorPrimitives.Multiply(row, queries.InverseNorm(queryStart + r), row);
            TensorPrimitives.Clamp(row, -1f, 1f, row);
        }
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
