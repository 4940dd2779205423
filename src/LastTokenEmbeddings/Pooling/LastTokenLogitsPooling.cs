using LastTokenEmbeddings.Checkpoints;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Pooling;

/// <summary>
/// The LM-head logits of the last real token (<c>model(ids).logits[:, -1, :]</c>, the article's method).
/// Only the last rows go through the LM head. Needs a checkpoint with an LM head.
/// </summary>
public sealed class LastTokenLogitsPooling : IPoolingStrategy
{
    /// <inheritdoc />
    public string Name => "last-token-logits";

    /// <inheritdoc />
    public int? Layer => null;

    /// <inheritdoc />
    public int OutputDimension(DecoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.VocabSize;
    }

    /// <inheritdoc />
    public Tensor Pool(PoolingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        using var scope = NewDisposeScope();
        return context.ComputeLogits(context.LastTokenHidden()).to(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
