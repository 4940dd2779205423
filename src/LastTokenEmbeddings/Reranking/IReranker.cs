namespace LastTokenEmbeddings.Reranking;

/// <summary>
/// Scores how well documents answer a query with a decoder LLM's last-token logits (yes vs no), in [0, 1].
/// Implementations are safe to call from many threads at once; calls share forward passes.
/// </summary>
public interface IReranker : IDisposable
{
    /// <summary>A name for the model, e.g. <c>Qwen/Qwen3-Reranker-0.6B</c>.</summary>
    string ModelId { get; }

    /// <summary>Token limit per (query, document) pair, template included.</summary>
    int MaxTokens { get; }

    /// <summary>Scores each document against <paramref name="query"/> and ranks them, highest first.</summary>
    /// <param name="query">The query.</param>
    /// <param name="documents">The documents to score.</param>
    /// <param name="instruction">The task instruction; <see langword="null"/> uses the format's default.</param>
    /// <param name="cancellationToken">Removes the call's remaining pairs from the queue.</param>
    Task<RerankResult> RerankAsync(string query, IReadOnlyList<string> documents, string? instruction = null, CancellationToken cancellationToken = default);
}

/// <summary>One document's score.</summary>
/// <param name="Index">The document's position in the call.</param>
/// <param name="Score">P(yes) = softmax([logit_no, logit_yes])[1], in [0, 1].</param>
/// <param name="LogOdds">logit_yes − logit_no: the score before the sigmoid, precise where scores are near 0 or 1.</param>
public readonly record struct RankedDocument(int Index, float Score, float LogOdds);

/// <summary>The scores of a rerank call.</summary>
/// <param name="Documents">One entry per document, in input order.</param>
public sealed record RerankResult(IReadOnlyList<RankedDocument> Documents)
{
    /// <summary>The documents by score, highest first (ties keep input order).</summary>
    public IReadOnlyList<RankedDocument> Ranking { get; } =
        Documents.OrderByDescending(d => d.LogOdds).ThenBy(d => d.Index).ToArray();
}
