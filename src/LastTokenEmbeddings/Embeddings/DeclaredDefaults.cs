using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// How unset embedding options are filled in: from what the checkpoint declares in its sentence-transformers files,
/// else from the library's defaults (last-token hidden state, raw prompt, normalised, <c>max_position_embeddings</c>).
/// </summary>
internal static class DeclaredDefaults
{
    public static IPoolingStrategy Pooling(IPoolingStrategy? requested, DeclaredEmbeddingSettings? declared) =>
        requested ?? (declared is null ? PoolingStrategies.LastTokenHidden : PoolingStrategies.FromDeclaredMode(declared.PoolingMode));

    public static PromptFormat Prompt(PromptFormat? requested, DeclaredEmbeddingSettings? declared) =>
        requested ?? (declared is null || (declared.QueryPrompt.Length == 0 && declared.DocumentPrompt.Length == 0)
            ? PromptFormat.Raw
            : PromptFormat.FromPrompts(declared.QueryPrompt, declared.DocumentPrompt, "sentence-transformers"));

    public static bool Normalize(bool? requested, DeclaredEmbeddingSettings? declared) => requested ?? declared?.Normalize ?? true;

    public static int MaxTokens(int? requested, DecoderConfig config, DeclaredEmbeddingSettings? declared) =>
        requested ?? Math.Min(config.MaxPositionEmbeddings, declared?.MaxSeqLength ?? int.MaxValue);

    /// <summary>A copy of <paramref name="requested"/> with every unset setting filled in.</summary>
    public static EmbeddingOptions Resolve(EmbeddingOptions requested, DecoderConfig config, DeclaredEmbeddingSettings? declared)
    {
        var resolved = requested.Clone();
        resolved.Pooling = Pooling(requested.Pooling, declared);
        resolved.Prompt = Prompt(requested.Prompt, declared);
        resolved.Normalize = Normalize(requested.Normalize, declared);
        resolved.MaxTokens = MaxTokens(requested.MaxTokens, config, declared);
        return resolved;
    }
}
