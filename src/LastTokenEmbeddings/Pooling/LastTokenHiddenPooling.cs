using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>The last real token's hidden state (e5-mistral-7b-instruct's pooling).</summary>
/// <param name="layer">Hidden-state layer to read; <see langword="null"/> for the final normed output.</param>
public sealed class LastTokenHiddenPooling(int? layer = null) : IPoolingStrategy
{
    /// <inheritdoc />
    public string Name => "last-token-hidden";

    /// <inheritdoc />
    public int? Layer { get; } = layer;

    /// <inheritdoc />
    public int OutputDimension(DecoderConfig config) => config.HiddenSize;

    /// <inheritdoc />
    public Tensor Pool(PoolingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var last = context.LastTokenHidden();
        return last.to(ScalarType.Float32);
    }
}
