using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>The mean of the hidden states of the real (non-padding) tokens, computed in float32.</summary>
/// <param name="layer">Hidden-state layer to read; <see langword="null"/> for the final normed output.</param>
public sealed class MeanPooling(int? layer = null) : IPoolingStrategy
{
    /// <inheritdoc />
    public string Name => "mean";

    /// <inheritdoc />
    public int? Layer { get; } = layer;

    /// <inheritdoc />
    public int OutputDimension(DecoderConfig config) => config.HiddenSize;

    /// <inheritdoc />
    public Tensor Pool(PoolingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        var weights = context.AttentionMask.to(ScalarType.Float32);
        return WeightedAverage.Of(context.HiddenStates, weights).MoveToOuterDisposeScope();
    }
}
