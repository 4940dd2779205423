using LastTokenEmbeddings.Modeling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>What a pooling strategy sees of one batch. Tensors are valid only during <see cref="IPoolingStrategy.Pool"/>.</summary>
public sealed class PoolingContext
{
    private readonly Func<Tensor, Tensor> computeLogits;
    private readonly Func<Tensor, long[], Tensor> computeTokenLogits;

    internal PoolingContext(Tensor hiddenStates, Tensor attentionMask, Func<Tensor, Tensor> computeLogits, Func<Tensor, long[], Tensor> computeTokenLogits)
    {
        HiddenStates = hiddenStates;
        AttentionMask = attentionMask;
        this.computeLogits = computeLogits;
        this.computeTokenLogits = computeTokenLogits;
    }

    /// <summary>Hidden states [batch, seq, hidden] of the strategy's layer, in the compute dtype.</summary>
    public Tensor HiddenStates { get; }

    /// <summary>[batch, seq] boolean, True for real tokens; padding may be on either side.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Index [batch] (int64) of each text's last real token, whatever the padding side.</summary>
    public Tensor LastTokenIndex()
    {
        using var scope = NewDisposeScope();
        var positions = Scalars.Arange(AttentionMask.shape[1], AttentionMask.device);
        return (AttentionMask.to(ScalarType.Int64) * positions).argmax(1).MoveToOuterDisposeScope();
    }

    /// <summary>Hidden state [batch, hidden] of each text's last real token.</summary>
    public Tensor LastTokenHidden()
    {
        using var scope = NewDisposeScope();
        var rows = Scalars.Arange(HiddenStates.shape[0], HiddenStates.device);
        return HiddenStates.index([rows, LastTokenIndex()]).MoveToOuterDisposeScope();
    }

    /// <summary>Applies the LM head to final hidden states [..., hidden], giving logits [..., vocab].</summary>
    /// <param name="finalHidden">Rows of the final normed hidden states (only those needed).</param>
    /// <exception cref="InvalidOperationException">The checkpoint has no LM head.</exception>
    public Tensor ComputeLogits(Tensor finalHidden) => computeLogits(finalHidden);

    /// <summary>
    /// Logits of the given vocabulary ids only [..., ids], from the matching rows of the LM head: what a yes/no
    /// reranker needs, without a vocabulary-sized row.
    /// </summary>
    /// <param name="finalHidden">Rows of the final normed hidden states.</param>
    /// <param name="tokenIds">The vocabulary ids.</param>
    /// <exception cref="InvalidOperationException">The checkpoint has no LM head.</exception>
    public Tensor ComputeLogits(Tensor finalHidden, IReadOnlyList<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        return computeTokenLogits(finalHidden, tokenIds.Select(id => (long)id).ToArray());
    }
}
