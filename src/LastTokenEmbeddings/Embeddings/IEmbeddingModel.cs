using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>
/// Embeds texts with a decoder LLM: prompt format, tokenization, forward pass and pooling.
/// Implementations are safe to call from many threads at once.
/// </summary>
public interface IEmbeddingModel : IDisposable
{
    /// <summary>A name for the model, e.g. its directory name.</summary>
    string ModelId { get; }

    /// <summary>Length of the returned vectors.</summary>
    int Dimensions { get; }

    /// <summary>Token limit per text, prompt format included.</summary>
    int MaxTokens { get; }

    /// <summary>Whether returned vectors are L2-normalised.</summary>
    bool Normalize { get; }

    /// <summary>How token states become one vector.</summary>
    IPoolingStrategy Pooling { get; }

    /// <summary>How texts are wrapped before tokenization.</summary>
    PromptFormat Prompt { get; }

    /// <summary>Token ids the decoder will see for <paramref name="text"/> (prompt format and truncation applied).</summary>
    /// <param name="text">The text.</param>
    /// <param name="role">Query or document (formats such as E5 treat them differently).</param>
    int[] Tokenize(string text, TextRole role = TextRole.Query);

    /// <summary>Token ids the decoder will see for <paramref name="text"/> under a call's settings.</summary>
    /// <param name="text">The text.</param>
    /// <param name="call">Role, instruction, prompt and truncation.</param>
    int[] Tokenize(string text, EmbeddingCallOptions call);

    /// <summary>Embeds one text.</summary>
    /// <param name="text">The text; empty is allowed (only the format's fixed tokens are embedded).</param>
    /// <param name="role">Query or document.</param>
    /// <param name="cancellationToken">Cancels before the forward pass starts.</param>
    Task<TextEmbedding> EmbedAsync(string text, TextRole role = TextRole.Query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Embeds many texts, batched by a token budget and sorted by length to limit padding; results come back in
    /// input order and equal one-at-a-time results.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="role">Query or document.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Honoured between batches.</param>
    Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, TextRole role = TextRole.Query,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Embeds many texts with per-call settings (role, instruction, declared prompt, truncation). Calls with different
    /// settings still share forward passes; results come back in input order.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="call">Role, instruction, prompt and truncation of this call.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Removes the call's remaining texts from the queue.</param>
    Task<IReadOnlyList<TextEmbedding>> EmbedAsync(IReadOnlyList<string> texts, EmbeddingCallOptions call,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Embeds token ids given directly (OpenAI's token-array inputs): no prompt format and no special tokens are added.
    /// Each sequence must be non-empty and within the vocabulary; one longer than <see cref="MaxTokens"/> is cut at its
    /// end, or refused under <see cref="Tokenization.TruncationPolicy.Throw"/>.
    /// </summary>
    /// <param name="ids">Token ids per input.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Removes the call's remaining inputs from the queue.</param>
    Task<IReadOnlyList<TextEmbedding>> EmbedTokenIdsAsync(IReadOnlyList<IReadOnlyList<int>> ids,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default);
}
