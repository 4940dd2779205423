using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// What an embedding is: prompt format, pooling, output shaping, limits and batching. Settings left
/// <see langword="null"/> take what the checkpoint declares in its sentence-transformers files (pooling, prompts,
/// normalisation, <c>max_seq_length</c>), else the library's defaults.
/// </summary>
public sealed class EmbeddingOptions
{
    /// <summary>Pooling strategy; <see langword="null"/>: the declared pooling, else last-token hidden state.</summary>
    public IPoolingStrategy? Pooling { get; set; }

    /// <summary>Prompt format; <see langword="null"/>: the declared prompts, else <see cref="PromptFormat.Raw"/>.</summary>
    public PromptFormat? Prompt { get; set; }

    /// <summary>L2-normalise vectors; <see langword="null"/>: as declared (a <c>Normalize</c> module), else on. A zero vector stays zero.</summary>
    public bool? Normalize { get; set; }

    /// <summary>Keep only the first N dimensions (applied before normalising); <see langword="null"/> keeps all.</summary>
    public int? Dimensions { get; set; }

    /// <summary>
    /// Token limit per text, prompt included; <see langword="null"/>: the smaller of <c>max_position_embeddings</c>
    /// and the declared <c>max_seq_length</c>.
    /// </summary>
    public int? MaxTokens { get; set; }

    /// <summary>What to do with a text over <see cref="MaxTokens"/>: truncate (default, keeping a required EOS or suffix) or throw.</summary>
    public TruncationPolicy Truncation { get; set; } = TruncationPolicy.Truncate;

    /// <summary>
    /// What becomes of special-token strings inside texts; <see langword="null"/>: as the tokenizer does by default
    /// (<see cref="SpecialTokenPolicy.Parse"/>, unless its tokenizer_config.json sets <c>split_special_tokens</c>).
    /// </summary>
    public SpecialTokenPolicy? SpecialTokens { get; set; }

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
        if (Dimensions is <= 0) errors.Add($"{nameof(Dimensions)} must be positive, not {Dimensions}.");
        if (MaxTokens is <= 0) errors.Add($"{nameof(MaxTokens)} must be positive, not {MaxTokens}.");
        if (MaxBatchTokens <= 0) errors.Add($"{nameof(MaxBatchTokens)} must be positive, not {MaxBatchTokens}.");
        if (MaxBatchSize <= 0) errors.Add($"{nameof(MaxBatchSize)} must be positive, not {MaxBatchSize}.");
        if (!Enum.IsDefined(Truncation)) errors.Add($"{nameof(Truncation)} {Truncation} is not a known policy.");
        if (SpecialTokens is { } policy && !Enum.IsDefined(policy)) errors.Add($"{nameof(SpecialTokens)} {SpecialTokens} is not a known policy.");
        return errors;
    }
}
