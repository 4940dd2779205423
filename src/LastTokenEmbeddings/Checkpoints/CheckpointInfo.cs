using LastTokenEmbeddings.Checkpoints.Safetensors;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>How a checkpoint names its tensors.</summary>
public enum CheckpointLayout
{
    /// <summary><c>MistralForCausalLM</c>: tensors under <c>model.</c>, plus <c>lm_head.weight</c> unless tied.</summary>
    CausalLM,

    /// <summary>A bare <c>MistralModel</c> (e.g. e5-mistral-7b-instruct): no prefix and no LM head.</summary>
    BaseModel,
}

/// <summary>Facts about a loaded checkpoint.</summary>
/// <param name="Directory">The model directory.</param>
/// <param name="Files">The safetensors files read.</param>
/// <param name="TotalBytes">Size of those files in bytes.</param>
/// <param name="Layout">How tensors were named.</param>
/// <param name="StoredDType">The dtype of the stored weights, e.g. "BF16".</param>
public sealed record CheckpointInfo(string Directory, IReadOnlyList<string> Files, long TotalBytes, CheckpointLayout Layout, string StoredDType)
{
    /// <summary>Tells the layout from the name of the token embedding.</summary>
    /// <param name="checkpoint">The opened checkpoint.</param>
    /// <exception cref="CheckpointException">Neither layout's embedding is present.</exception>
    public static CheckpointLayout DetectLayout(ShardedCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var names = checkpoint.TensorNames as ISet<string> ?? checkpoint.TensorNames.ToHashSet(StringComparer.Ordinal);
        return names.Contains("model.embed_tokens.weight") ? CheckpointLayout.CausalLM
            : names.Contains("embed_tokens.weight") ? CheckpointLayout.BaseModel
            : throw new CheckpointException(checkpoint.SourcePath,
                "neither 'model.embed_tokens.weight' nor 'embed_tokens.weight' is present; this is not a Mistral checkpoint.");
    }
}
