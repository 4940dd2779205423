namespace LastTokenEmbeddings.Embeddings;

/// <summary>Groups sequences into batches: longest first, so each batch pads little, within a token budget.</summary>
internal static class TokenBudgetBatcher
{
    /// <summary>Batches of indices into <paramref name="lengths"/>; a sequence longer than the budget gets a batch alone.</summary>
    public static IEnumerable<int[]> Plan(IReadOnlyList<int> lengths, int maxBatchTokens, int maxBatchSize)
    {
        var order = Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]).ThenBy(i => i).ToArray();
        var start = 0;
        while (start < order.Length)
        {
            var longest = lengths[order[start]]; // sorted: the first of a batch is its longest
            var count = 1;
            while (start + count < order.Length && count < maxBatchSize && (long)(count + 1) * longest <= maxBatchTokens)
                count++;
            yield return order[start..(start + count)];
            start += count;
        }
    }
}
