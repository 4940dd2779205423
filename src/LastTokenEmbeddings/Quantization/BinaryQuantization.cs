using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using LastTokenEmbeddings.Similarity;

namespace LastTokenEmbeddings.Quantization;

/// <summary>
/// Binary quantization (one bit per dimension, set when the value is &gt; 0) with the semantics of
/// sentence-transformers' <c>quantize_embeddings(..., precision="ubinary")</c>, exact Hamming search over packed
/// bits, and the usual rescoring of binary candidates with float queries.
/// </summary>
/// <remarks>
/// The packed bytes are sentence-transformers' <c>ubinary</c> (and faiss' binary index format). Its <c>binary</c>
/// precision holds the same bytes shifted to int8, <c>(sbyte)(b − 128)</c> (which flips the top bit), for usearch;
/// convert with that expression if you need it. Unlike sentence-transformers, which packs the whole batch as one bit
/// string, each row here is padded to whole bytes, so dimensions that are not a multiple of 8 still give one
/// independent row per embedding (numpy's <c>np.packbits(x &gt; 0, axis=-1)</c>).
/// </remarks>
public static class BinaryQuantization
{
    // Query rows scored together against one tile of packed rows.
    private const int QueryBlockRows = 64;

    // Bytes of packed rows per corpus tile.
    private const int CorpusTileBytes = 64 * 1024;

    // ReversedBits[b] is b with its 8 bits in reverse order.
    private static readonly byte[] ReversedBits = Enumerable.Range(0, 256)
        .Select(b => (byte)((((ulong)b * 0x0202020202UL) & 0x010884422010UL) % 1023))
        .ToArray();

    /// <summary>Quantizes embeddings to packed bits: bit d of a row is set when element d is &gt; 0 (0 and −0 give 0).</summary>
    /// <param name="embeddings">The embeddings, at least one dimension (0 rows allowed).</param>
    /// <returns>The packed rows, most significant bit first.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="embeddings"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="embeddings"/> has no dimensions (a matrix from an empty list).</exception>
    public static BinaryQuantizedMatrix Quantize(EmbeddingMatrix embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Dimensions == 0)
        {
            throw new ArgumentException("The embeddings have no dimensions.", nameof(embeddings));
        }

        int dimensions = embeddings.Dimensions;
        int bytesPerRow = (dimensions + 7) / 8;
        var packed = new byte[embeddings.RowCount * bytesPerRow];
        for (int i = 0; i < embeddings.RowCount; i++)
        {
            ReadOnlySpan<float> row = embeddings.Row(i);
            Span<byte> target = packed.AsSpan(i * bytesPerRow, bytesPerRow);
            int d = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; d + 8 <= dimensions; d += 8)
                {
                    // Bit k of the mask is element k; packbits wants element 0 in the most significant bit.
                    uint mask = Vector256.ExtractMostSignificantBits(Vector256.GreaterThan(Vector256.Create(row.Slice(d, 8)), Vector256<float>.Zero));
                    target[d >> 3] = ReversedBits[(int)mask];
                }
            }

            for (; d < dimensions; d++)
            {
                if (row[d] > 0)
                {
                    target[d >> 3] |= (byte)(0x80 >> (d & 7));
                }
            }
        }

        return new BinaryQuantizedMatrix(packed, dimensions);
    }

    /// <summary>The number of differing bits of two packed vectors.</summary>
    /// <param name="a">First packed vector.</param>
    /// <param name="b">Second packed vector, of the same length.</param>
    /// <returns>The Hamming distance, 0 to 8 × length.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static int HammingDistance(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"The vectors have different lengths ({a.Length} and {b.Length}).", nameof(b));
        }

        return IntegerDotProducts.HammingDistance(a, b);
    }

    /// <summary>
    /// For each query row, the <paramref name="k"/> corpus rows at the smallest Hamming distance (exact search),
    /// closest first; equal distances by lower index.
    /// </summary>
    /// <param name="queries">The packed queries.</param>
    /// <param name="corpus">The packed corpus (may be empty), of the same dimensions.</param>
    /// <param name="k">How many hits to keep per query, at least 1; a query gets <c>min(k, corpus.RowCount)</c>.</param>
    /// <returns>One array of hits per query row; <see cref="SearchHit{TScore}.Score"/> is the Hamming distance (lower is closer).</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The dimensions differ.</exception>
    public static SearchHit<int>[][] TopK(BinaryQuantizedMatrix queries, BinaryQuantizedMatrix corpus, int k)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        CheckDimensions(queries.Dimensions, corpus.Dimensions, nameof(corpus));

        int bytesPerRow = queries.BytesPerRow;
        SearchHit<int>[][] hits = BlockedTopK.Search<int>(
            queries.RowCount,
            corpus.RowCount,
            k,
            QueryBlockRows,
            Math.Max(16, CorpusTileBytes / bytesPerRow),
            Math.Max(1, bytesPerRow / 8),
            (queryStart, queryCount, corpusStart, corpusCount, scores) =>
            {
                ReadOnlySpan<byte> tile = corpus.Values.Span.Slice(corpusStart * bytesPerRow, corpusCount * bytesPerRow);
                for (int q = 0; q < queryCount; q++)
                {
                    ReadOnlySpan<byte> query = queries.Values.Span.Slice((queryStart + q) * bytesPerRow, bytesPerRow);
                    Span<int> row = scores.Slice(q * corpusCount, corpusCount);
                    for (int c = 0; c < corpusCount; c++)
                    {
                        // Negated, so that the highest score is the closest row.
                        row[c] = -IntegerDotProducts.HammingDistance(query, tile.Slice(c * bytesPerRow, bytesPerRow));
                    }
                }
            });

        foreach (SearchHit<int>[] queryHits in hits)
        {
            for (int i = 0; i < queryHits.Length; i++)
            {
                queryHits[i] = queryHits[i] with { Score = -queryHits[i].Score };
            }
        }

        return hits;
    }

    /// <summary>
    /// Binary search with float rescoring: each query is binary-quantized, its
    /// <c>k × <paramref name="candidateMultiplier"/></c> nearest rows by Hamming distance are taken as candidates, and
    /// those are re-ranked by exact cosine similarity between the float query and the float corpus row. Keeps only the
    /// packed corpus in the hot path; the float rows are read for the candidates alone (they may live in a
    /// memory-mapped file).
    /// </summary>
    /// <param name="queries">The float queries.</param>
    /// <param name="corpus">The packed corpus (may be empty), of the queries' dimensions.</param>
    /// <param name="rescoringCorpus">The same corpus as float rows, row for row.</param>
    /// <param name="k">How many hits to keep per query, at least 1.</param>
    /// <param name="candidateMultiplier">Candidates per hit kept, at least 1 (sentence-transformers defaults to 2; 4 recovers more).</param>
    /// <returns>One array of hits per query, best first (ties by lower index); scores are cosine similarities.</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> or <paramref name="candidateMultiplier"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The dimensions or the corpus row counts differ.</exception>
    public static SearchHit<float>[][] TopKRescored(
        EmbeddingMatrix queries, BinaryQuantizedMatrix corpus, EmbeddingMatrix rescoringCorpus, int k, int candidateMultiplier = 4)
    {
        ArgumentNullException.ThrowIfNull(rescoringCorpus);
        SearchHit<int>[][] candidates = Candidates(queries, corpus, rescoringCorpus.RowCount, rescoringCorpus.Dimensions, k, candidateMultiplier);
        return Rescore(queries, candidates, k, (query, row) =>
            TensorPrimitives.Dot(query, rescoringCorpus.Row(row)) * rescoringCorpus.InverseNorm(row));
    }

    /// <summary>
    /// Binary search with scalar-quantized rescoring: as
    /// <see cref="TopKRescored(EmbeddingMatrix, BinaryQuantizedMatrix, EmbeddingMatrix, int, int)"/>, but the
    /// candidates are re-ranked by cosine similarity between the float query and the candidate's dequantized codes
    /// (<see cref="ScalarQuantization.Dequantize{T}"/>), so only the quantized corpus is kept: 1 byte per dimension
    /// for rescoring plus 1 bit for the search. (sentence-transformers scores the raw codes, query · code, instead;
    /// dequantizing weighs each dimension by its own step and gives scores on the cosine scale.)
    /// </summary>
    /// <typeparam name="T"><see cref="sbyte"/> or <see cref="byte"/>.</typeparam>
    /// <param name="queries">The float queries.</param>
    /// <param name="corpus">The packed corpus (may be empty), of the queries' dimensions.</param>
    /// <param name="rescoringCorpus">The same corpus as int8 or uint8 codes, row for row.</param>
    /// <param name="k">How many hits to keep per query, at least 1.</param>
    /// <param name="candidateMultiplier">Candidates per hit kept, at least 1.</param>
    /// <returns>One array of hits per query, best first (ties by lower index); scores are approximate cosine similarities.</returns>
    /// <exception cref="ArgumentNullException">A matrix is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> or <paramref name="candidateMultiplier"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The dimensions or the corpus row counts differ.</exception>
    public static SearchHit<float>[][] TopKRescored<T>(
        EmbeddingMatrix queries, BinaryQuantizedMatrix corpus, ScalarQuantizedMatrix<T> rescoringCorpus, int k, int candidateMultiplier = 4)
        where T : unmanaged, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(rescoringCorpus);
        SearchHit<int>[][] candidates = Candidates(queries, corpus, rescoringCorpus.RowCount, rescoringCorpus.Dimensions, k, candidateMultiplier);
        var approximation = new float[rescoringCorpus.Dimensions];
        return Rescore(queries, candidates, k, (query, row) =>
        {
            ScalarQuantization.DequantizeRow(rescoringCorpus.Row(row), rescoringCorpus.Ranges, approximation);
            float norm = TensorPrimitives.Norm(approximation);
            return norm > 0 ? TensorPrimitives.Dot(query, approximation) / norm : 0f;
        });
    }

    private static SearchHit<int>[][] Candidates(
        EmbeddingMatrix queries, BinaryQuantizedMatrix corpus, int rescoringRows, int rescoringDimensions, int k, int candidateMultiplier)
    {
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(candidateMultiplier, 1);
        if (rescoringRows != corpus.RowCount)
        {
            throw new ArgumentException(
                $"The rescoring corpus has {rescoringRows} rows but the binary corpus has {corpus.RowCount}.", "rescoringCorpus");
        }

        if (rescoringDimensions != corpus.Dimensions)
        {
            throw new ArgumentException(
                $"The rescoring corpus has {rescoringDimensions} dimensions but the binary corpus has {corpus.Dimensions}.", "rescoringCorpus");
        }

        if (queries.RowCount == 0)
        {
            return [];
        }

        CheckDimensions(queries.Dimensions, corpus.Dimensions, nameof(corpus));
        int candidateCount = (int)Math.Min(int.MaxValue, (long)k * candidateMultiplier);
        return TopK(Quantize(queries), corpus, candidateCount);
    }

    /// <summary>Re-ranks candidates by <paramref name="score"/>(query, row) / ‖query‖, keeping the best <paramref name="k"/>.</summary>
    private static SearchHit<float>[][] Rescore(
        EmbeddingMatrix queries, SearchHit<int>[][] candidates, int k, Func<ReadOnlySpan<float>, int, float> score)
    {
        var results = new SearchHit<float>[candidates.Length][];
        for (int q = 0; q < candidates.Length; q++)
        {
            ReadOnlySpan<float> query = queries.Row(q);
            float queryInverseNorm = queries.InverseNorm(q);
            var rescored = new SearchHit<float>[candidates[q].Length];
            for (int i = 0; i < rescored.Length; i++)
            {
                int row = candidates[q][i].Index;
                rescored[i] = new SearchHit<float>(row, Math.Clamp(score(query, row) * queryInverseNorm, -1f, 1f));
            }

            Array.Sort(rescored, TopKSelector<float>.CompareBestFirst);
            results[q] = rescored.Length > k ? rescored[..k] : rescored;
        }

        return results;
    }

    private static void CheckDimensions(int queryDimensions, int corpusDimensions, string paramName)
    {
        if (queryDimensions != corpusDimensions)
        {
            throw new ArgumentException($"The queries have {queryDimensions} dimensions but the corpus has {corpusDimensions}.", paramName);
        }
    }
}
