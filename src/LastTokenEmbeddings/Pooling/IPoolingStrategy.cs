using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Pooling;

/// <summary>
/// Turns a batch of decoder outputs into one vector per text. Implement this to add a strategy;
/// the model runs the decoder up to <see cref="Layer"/> and hands the result over in a <see cref="PoolingContext"/>.
/// </summary>
public interface IPoolingStrategy
{
    /// <summary>Short stable name, e.g. "last-token-hidden".</summary>
    string Name { get; }

    /// <summary>
    /// Which hidden states to read, indexed like transformers' <c>hidden_states</c> (0 = embeddings,
    /// <c>num_hidden_layers</c> = final normed output); <see langword="null"/> means the final output.
    /// </summary>
    int? Layer { get; }

    /// <summary>Length of the pooled vector for a model with this configuration (before truncation).</summary>
    /// <param name="config">The model's configuration.</param>
    int OutputDimension(DecoderConfig config);

    /// <summary>Pools the batch.</summary>
    /// <param name="context">Hidden states, mask and LM-head access for the batch.</param>
    /// <returns>[batch, dimension] float32 on any device; the caller disposes it.</returns>
    TorchSharp.torch.Tensor Pool(PoolingContext context);
}
