namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// Plans forward passes. A batch is a list of rows, each row a list of texts. Texts of up to
/// <see cref="PackedTextLimit"/> tokens are packed several to a row (no padding; attention stays within each
/// text). Longer texts get a row each, grouped by dynamic programming to balance padding against the fixed
/// cost of a forward pass. Every batch respects the token budget and the batch-size cap.
/// </summary>
internal static class TokenBudgetBatcher
{
    /// <summary>Fixed cost of one forward pass, in token-equivalents (weights are read once per pass).</summary>
    internal const int ForwardOverheadTokens = 48;

    /// <summary>Texts this short are packed into shared rows.</summary>
    internal const int PackedTextLimit = 64;

    /// <summary>Length of a packed row: long enough for many short texts, short enough that attention over it stays cheap.</summary>
    internal const int PackedRowTokens = 256;

    /// <summary>Batches (rows of text indices into <paramref name="lengths"/>); every index appears exactly once.</summary>
    public static IEnumerable<int[][]> Plan(IReadOnlyList<int> lengths, int maxBatchTokens, int maxBatchSize)
    {
        var longest = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        var padded = longest.Where(i => lengths[i] > PackedTextLimit).ToArray();
        var packed = longest.Where(i => lengths[i] <= PackedTextLimit).ToArray();
        return PlanPadded(padded, lengths, maxBatchTokens, maxBatchSize)
            .Select(batch => batch.Select(i => new[] { i }).ToArray())
            .Concat(PlanPacked(packed, lengths, maxBatchTokens, maxBatchSize));
    }

    /// <summary>
    /// One text per row. A batch costs <see cref="ForwardOverheadTokens"/> plus its padded size (texts × longest);
    /// the split of the length-sorted texts that minimises the total is found by dynamic programming.
    /// </summary>
    private static IEnumerable<int[]> PlanPadded(int[] order, IReadOnlyList<int> lengths, int maxBatchTokens, int maxBatchSize)
    {
        var n = order.Length;
        var best = new long[n + 1]; // best[j]: least cost of batching order[0..j)
        var start = new int[n + 1];  // where the last batch of that plan begins
        for (var j = 1; j <= n; j++)
        {
            best[j] = long.MaxValue;
            for (var i = j - 1; i >= 0 && j - i <= maxBatchSize; i--)
            {
                long size = (long)(j - i) * lengths[order[i]]; // order[i] is the longest of order[i..j)
                if (size > maxBatchTokens && j - i > 1) break;
                var cost = best[i] + ForwardOverheadTokens + size;
                if (cost < best[j])
                {
                    best[j] = cost;
                    start[j] = i;
                }
            }
        }
        var batches = new List<int[]>();
        for (var j = n; j > 0; j = start[j])
            batches.Add(order[start[j]..j]);
        batches.Reverse();
        return batches;
    }

    /// <summary>
    /// Several short texts per row, longest first, closing a batch at the budget or the batch-size cap; then each
    /// batch's texts are spread over its rows evenly (<see cref="Balance"/>), since every row is padded to the fullest.
    /// </summary>
    private static IEnumerable<int[][]> PlanPacked(int[] order, IReadOnlyList<int> lengths, int maxBatchTokens, int maxBatchSize)
    {
        var rowTokens = Math.Max(PackedRowTokens <= maxBatchTokens ? PackedRowTokens : maxBatchTokens, 1);
        var rows = new List<List<int>>();
        var rowFill = 0;
        var texts = 0;
        foreach (var index in order)
        {
            var fitsRow = rows.Count > 0 && rowFill + lengths[index] <= rowTokens;
            var fitsBatch = texts < maxBatchSize && (fitsRow || (long)(rows.Count + 1) * rowTokens <= maxBatchTokens);
            if (!fitsBatch)
            {
                yield return Balance(rows, lengths);
                rows.Clear();
                texts = 0;
                fitsRow = false;
            }
            if (!fitsRow)
            {
                rows.Add([]);
                rowFill = 0;
            }
            rows[^1].Add(index);
            rowFill += lengths[index];
            texts++;
        }
        if (rows.Count > 0)
            yield return Balance(rows, lengths);
    }

    /// <summary>
    /// The same texts over the same number of rows, each (longest first) into the least-filled row, so a last row of a
    /// few texts no longer leaves the others' padding to fill it: 256 + 256 + 128 tokens become three rows of about 214.
    /// Kept as filled when that is not shorter (the spread can, rarely, be worse).
    /// </summary>
    private static int[][] Balance(List<List<int>> rows, IReadOnlyList<int> lengths)
    {
        var filled = rows.Select(row => row.ToArray()).ToArray();
        if (filled.Length < 2)
            return filled;
        var spread = new List<int>[filled.Length];
        var fill = new int[filled.Length];
        for (var r = 0; r < spread.Length; r++)
            spread[r] = [];
        foreach (var index in filled.SelectMany(row => row)) // rows were filled from a longest-first order
        {
            var least = Array.IndexOf(fill, fill.Min());
            spread[least].Add(index);
            fill[least] += lengths[index];
        }
        return fill.Max() < filled.Max(row => row.Sum(i => lengths[i])) ? spread.Select(row => row.ToArray()).ToArray() : filled;
    }
}
