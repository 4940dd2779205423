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
public sealed record CheckpointInfo(string Directory, IReadOnlyList<string> Files, long TotalBytes, CheckpointLayout Layout, string StoredDType);
