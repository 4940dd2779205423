using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>
/// The last real token's logits for a few chosen vocabulary ids (e.g. "no" and "yes"), computed from those rows of the
/// LM head only: the score of decoder rerankers, without a vocabulary-sized row. Needs a checkpoint with an LM head.
/// </summary>
public sealed class TokenLogitsPooling : IPoolingStrategy
{
    private readonly int[] tokenIds;

    /// <summary>Pools the logits of <paramref name="tokenIds"/>, in that order.</summary>
    /// <param name="tokenIds">Vocabulary ids (at least one).</param>
    /// <exception cref="ArgumentException"><paramref name="tokenIds"/> is empty or holds a negative id.</exception>
    public TokenLogitsPooling(IReadOnlyList<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        if (tokenIds.Count == 0 || tokenIds.Any(id => id < 0))
            throw new ArgumentException("At least one non-negative token id is needed.", nameof(tokenIds));
        this.tokenIds = [.. tokenIds];
    }

    /// <summary>The ids whose logits are pooled.</summary>
    public IReadOnlyList<int> TokenIds => tokenIds;

    /// <inheritdoc />
    public string Name => "token-logits";

    /// <inheritdoc />
    public int? Layer => null;

    /// <inheritdoc />
    public int OutputDimension(DecoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (tokenIds.Max() >= config.VocabSize)
            throw new ArgumentOutOfRangeException(nameof(config), tokenIds.Max(), $"Token id {tokenIds.Max()} is outside the model's vocabulary of {config.VocabSize}.");
        return tokenIds.Length;
    }

    /// <inheritdoc />
    public Tensor Pool(PoolingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        return context.ComputeLogits(context.LastTokenHidden(), tokenIds).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
