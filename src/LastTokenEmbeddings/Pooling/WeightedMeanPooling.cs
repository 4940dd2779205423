using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>
/// Position-weighted mean (SGPT): the k-th real token weighs k, so later tokens, which have seen more of the
/// text through causal attention, count more. Weights come from the cumulative attention mask, so the result
/// does not depend on the padding side.
/// </summary>
/// <param name="layer">Hidden-state layer to read; <see langword="null"/> for the final normed output.</param>
public sealed class WeightedMeanPooling(int? layer = null) : IPoolingStrategy
{
    /// <inheritdoc />
    public string Name => "weighted-mean";

    /// <inheritdoc />
    public int? Layer { get; } = layer;

    /// <inheritdoc />
    public int OutputDimension(DecoderConfig config) => config.HiddenSize;

    /// <inheritdoc />
    public Tensor Pool(PoolingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        var mask = context.AttentionMask.to(ScalarType.Float32);
        var weights = mask.cumsum(1) * mask;
        return WeightedAverage.Of(context.HiddenStates, weights).MoveToOuterDisposeScope();
    }
}

/// <summary>Shared arithmetic of the mean-style strategies.</summary>
internal static class WeightedAverage
{
    /// <summary>sum_t w[b,t] h[b,t,:] / sum_t w[b,t], in float32.</summary>
    public static Tensor Of(Tensor hidden, Tensor weights)
    {
        using var scope = NewDisposeScope();
        var weighted = (hidden.to(ScalarType.Float32) * weights.unsqueeze(-1)).sum(1);
        return (weighted / weights.sum(1, keepdim: true)).MoveToOuterDisposeScope();
    }
}
