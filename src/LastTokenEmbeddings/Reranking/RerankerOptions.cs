namespace LastTokenEmbeddings.Reranking;

/// <summary>How a reranker builds its inputs and batches them.</summary>
public sealed class RerankerOptions
{
    /// <summary>The prompt format and yes/no tokens; Qwen3-Reranker's by default.</summary>
    public RerankPromptFormat Format { get; set; } = RerankPromptFormat.Qwen3Reranker;

    /// <summary>Token limit per pair, template included; <see langword="null"/> uses <c>max_position_embeddings</c>. Longer documents are cut at their end.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>Most padded tokens in one forward pass.</summary>
    public int MaxBatchTokens { get; set; } = 8192;

    /// <summary>Most pairs in one forward pass.</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>A copy.</summary>
    public RerankerOptions Clone() => (RerankerOptions)MemberwiseClone();
}
