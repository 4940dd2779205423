using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// Per-call settings that change only how texts become token ids (role, instruction, prompt, truncation), so calls
/// with different ones still share forward passes.
/// </summary>
public sealed record EmbeddingCallOptions
{
    /// <summary>Query or document (formats such as E5, Qwen3-Embedding and declared prompts treat them differently).</summary>
    public TextRole Role { get; init; } = TextRole.Query;

    /// <summary>Replaces the query instruction of formats that have one (<see cref="PromptFormat.E5Instruct(string?)"/>, <see cref="PromptFormat.Qwen3Embedding(string?)"/>).</summary>
    public string? Instruction { get; init; }

    /// <summary>
    /// A prompt the checkpoint declares by name (<c>config_sentence_transformers.json</c>'s <c>prompts</c>, e.g. "query"),
    /// prepended to every text of the call instead of the format's (TEI's <c>prompt_name</c>).
    /// </summary>
    public string? PromptName { get; init; }

    /// <summary>Overrides the model's truncation policy for this call.</summary>
    public TruncationPolicy? Truncation { get; init; }

    /// <summary>Which end of an over-long text is cut; the format's fixed tokens are always kept.</summary>
    public TruncationDirection TruncationDirection { get; init; } = TruncationDirection.Right;

    /// <summary>Query role, model defaults.</summary>
    public static EmbeddingCallOptions Query { get; } = new();

    /// <summary>Document role, model defaults.</summary>
    public static EmbeddingCallOptions Document { get; } = new() { Role = TextRole.Document };
}
