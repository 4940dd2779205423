namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// Groups sequences into batches that minimise computed work: sorted longest first, then split where padding
/// would cost more than another forward pass, within a token budget and a batch-size cap.
/// </summary>
internal static class TokenBudgetBatcher
{
    /// <summary>
    /// Fixed cost of one forward pass, in token-equivalents: a pass must read every weight however few tokens it
    /// carries (measured on CPU at roughly 30–50 tokens' worth of matmul for 109M–7B models).
    /// </summary>
    internal const int ForwardOverheadTokens = 48;

    /// <summary>
    /// Batches of indices into <paramref name="lengths"/>. A batch costs <see cref="ForwardOverheadTokens"/> plus its
    /// padded size (texts × longest); the split of the length-sorted sequence that minimises the total is found by
    /// dynamic programming. A sequence longer than the budget gets a batch alone.
    /// </summary>
    public static IEnumerable<int[]> Plan(IReadOnlyList<int> lengths, int maxBatchTokens, int maxBatchSize)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        var n = order.Length;
        var best = new long[n + 1]; // best[j]: least cost of batching order[0..j)
        var start = new int[n + 1];  // where the last batch of that best plan begins
        for (var j = 1; j <= n; j++)
        {
            best[j] = long.MaxValue;
            for (var i = j - 1; i >= 0 && j - i <= maxBatchSize; i--)
            {
                long padded = (long)(j - i) * lengths[order[i]]; // order[i] is the longest of order[i..j)
                if (padded > maxBatchTokens && j - i > 1) break;  // growing the batch further only adds tokens
                var cost = best[i] + ForwardOverheadTokens + padded;
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
}
