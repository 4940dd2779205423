using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>What an embedding is: prompt format, pooling, output shaping, limits and batching.</summary>
public sealed class EmbeddingOptions
{
    /// <summary>Pooling strategy; last-token hidden state by default.</summary>
    public IPoolingStrategy Pooling { get; set; } = PoolingStrategies.LastTokenHidden;

    /// <summary>Prompt format; <see cref="PromptFormat.Raw"/> (BOS + text) by default.</summary>
    public PromptFormat Prompt { get; set; } = PromptFormat.Raw;

    /// <summary>L2-normalise vectors (on by default). A zero vector stays zero.</summary>
    public bool Normalize { get; set; } = true;

    /// <summary>Keep only the first N dimensions (applied before normalising); <see langword="null"/> keeps all.</summary>
    public int? Dimensions { get; set; }

    /// <summary>Token limit per text, prompt included; <see langword="null"/> uses the model's <c>max_position_embeddings</c>.</summary>
    public int? MaxTokens { get; set; }

    /// <summary>What to do with a text over <see cref="MaxTokens"/>: truncate (default, keeping a required EOS or suffix) or throw.</summary>
    public TruncationPolicy Truncation { get; set; } = TruncationPolicy.Truncate;

    /// <summary>Most padded tokens (texts × longest text) in one forward pass.</summary>
    public int MaxBatchTokens { get; set; } = 8192;

    /// <summary>Most texts in one forward pass.</summary>
    public int MaxBatchSize { get; set; } = 64;

    /// <summary>A copy, so later changes to this instance do not affect a model.</summary>
    public EmbeddingOptions Clone() => (EmbeddingOptions)MemberwiseClone();

    /// <summary>Problems with these options, each naming the option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Pooling is null) errors.Add($"{nameof(Pooling)} must be set.");
        if (Prompt is null) errors.Add($"{nameof(Prompt)} must be set.");
        if (Dimensions is <= 0) errors.Add($"{nameof(Dimensions)} must be positive, not {Dimensions}.");
        if (MaxTokens is <= 0) errors.Add($"{nameof(MaxTokens)} must be positive, not {MaxTokens}.");
        if (MaxBatchTokens <= 0) errors.Add($"{nameof(MaxBatchTokens)} must be positive, not {MaxBatchTokens}.");
        if (MaxBatchSize <= 0) errors.Add($"{nameof(MaxBatchSize)} must be positive, not {MaxBatchSize}.");
        if (!Enum.IsDefined(Truncation)) errors.Add($"{nameof(Truncation)} {Truncation} is not a known policy.");
        return errors;
    }
}
