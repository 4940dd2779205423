using System.Numerics;

namespace LastTokenEmbeddings.Similarity;

/// <summary>
/// Exact top-k search driven by a block scorer: scores one block of queries against one tile of corpus rows at a
/// time, feeding each score to a per-query <see cref="TopKSelector{TScore}"/>, so the full score matrix is never held.
/// Large searches run in parallel, over query blocks or (for a single block) over chunks of whole tiles, which keeps
/// every score identical to a serial run: the blocking, and so each kernel's rounding, does not depend on threading.
/// </summary>
internal static class BlockedTopK
{
    // Below about this many multiply-adds a search finishes in well under a millisecond: not worth waking threads.
    private const long ParallelWorkThreshold = 1L << 22;

    /// <summary>Writes the scores of queries [queryStart, +queryCount) × corpus rows [corpusStart, +corpusCount), row-major.</summary>
    public delegate void BlockScorer<TScore>(int queryStart, int queryCount, int corpusStart, int corpusCount, Span<TScore> scores);

    /// <summary>The <paramref name="k"/> highest-scoring corpus rows per query, best first, ties by lower index.</summary>
    /// <param name="queryCount">Number of queries.</param>
    /// <param name="corpusCount">Number of corpus rows.</param>
    /// <param name="k">Hits per query (at least 1).</param>
    /// <param name="queryBlockRows">Queries scored together.</param>
    /// <param name="corpusTileRows">Corpus rows per tile.</param>
    /// <param name="costPerPair">Rough multiply-adds per query-row pair, to decide whether to go parallel.</param>
    /// <param name="scorer">Scores one block against one tile.</param>
    public static SearchHit<TScore>[][] Search<TScore>(
        int queryCount, int corpusCount, int k, int queryBlockRows, int corpusTileRows, int costPerPair, BlockScorer<TScore> scorer)
        where TScore : struct, IComparisonOperators<TScore, TScore, bool>
    {
        var results = new SearchHit<TScore>[queryCount][];
        int blockCount = (queryCount + queryBlockRows - 1) / queryBlockRows;
        int tileCount = (corpusCount + corpusTileRows - 1) / corpusTileRows;
        bool parallel = Environment.ProcessorCount > 1 && (long)queryCount * corpusCount * costPerPair >= ParallelWorkThreshold;

        if (blockCount > 1 || !parallel || tileCount < 2)
        {
            void SearchBlock(int block)
            {
                int start = block * queryBlockRows;
                int count = Math.Min(queryBlockRows, queryCount - start);
                SearchHit<TScore>[][] hits = SearchRange(start, count, 0, corpusCount, k, corpusTileRows, scorer);
                hits.CopyTo(results, start);
            }

            if (parallel && blockCount > 1)
            {
                Parallel.For(0, blockCount, SearchBlock);
            }
            else
            {
                for (int block = 0; block < blockCount; block++)
                {
                    SearchBlock(block);
                }
            }

            return results;
        }

        // One query block against a large corpus: split the corpus into chunks of whole tiles, search each, then merge.
        // A chunk's own top k holds every global top-k row from that chunk, ties included (lower index first in both).
        int chunkCount = Math.Min(Environment.ProcessorCount, tileCount);
        var chunkHits = new SearchHit<TScore>[chunkCount][][];
        Parallel.For(0, chunkCount, chunk =>
        {
            int firstTile = (int)((long)tileCount * chunk / chunkCount);
            int endTile = (int)((long)tileCount * (chunk + 1) / chunkCount);
            int corpusStart = firstTile * corpusTileRows;
            int corpusEnd = Math.Min(corpusCount, endTile * corpusTileRows);
            chunkHits[chunk] = SearchRange(0, queryCount, corpusStart, corpusEnd - corpusStart, k, corpusTileRows, scorer);
        });

        for (int q = 0; q < queryCount; q++)
        {
            SearchHit<TScore>[] merged = chunkHits.SelectMany(hits => hits[q]).ToArray();
            Array.Sort(merged, TopKSelector<TScore>.CompareBestFirst);
            results[q] = merged.Length > k ? merged[..k] : merged;
        }

        return results;
    }

    private static SearchHit<TScore>[][] SearchRange<TScore>(
        int queryStart, int queryCount, int corpusStart, int corpusCount, int k, int corpusTileRows, BlockScorer<TScore> scorer)
        where TScore : struct, IComparisonOperators<TScore, TScore, bool>
    {
        int capacity = Math.Min(k, corpusCount);
        var selectors = new TopKSelector<TScore>[queryCount];
        for (int r = 0; r < queryCount; r++)
        {
            selectors[r] = new TopKSelector<TScore>(capacity);
        }

        var scores = new TScore[queryCount * Math.Min(corpusTileRows, Math.Max(corpusCount, 1))];
        for (int tileStart = 0; tileStart < corpusCount; tileStart += corpusTileRows)
        {
            int tileCount = Math.Min(corpusTileRows, corpusCount - tileStart);
            Span<TScore> block = scores.AsSpan(0, queryCount * tileCount);
            scorer(queryStart, queryCount, corpusStart + tileStart, tileCount, block);
            for (int r = 0; r < queryCount; r++)
            {
                ReadOnlySpan<TScore> row = block.Slice(r * tileCount, tileCount);
                TopKSelector<TScore> selector = selectors[r];
                int firstIndex = corpusStart + tileStart;
                for (int j = 0; j < row.Length; j++)
                {
                    selector.Offer(row[j], firstIndex + j);
                }
            }
        }

        var hits = new SearchHit<TScore>[queryCount][];
        for (int r = 0; r < queryCount; r++)
        {
            hits[r] = selectors[r].ToSortedHits();
        }

        return hits;
    }
}
