using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>How a checkpoint names its tensors.</summary>
public enum CheckpointLayout
{
    /// <summary><c>…ForCausalLM</c>: tensors under <c>model.</c>, plus <c>lm_head.weight</c> unless tied.</summary>
    CausalLM,

    /// <summary>A bare decoder (<c>MistralModel</c> as e5-mistral-7b-instruct ships, <c>Qwen3Model</c>, ...): no prefix and no LM head.</summary>
    BaseModel,
}

/// <summary>Facts about a loaded checkpoint.</summary>
/// <param name="Directory">The model directory.</param>
/// <param name="Files">The safetensors files read.</param>
/// <param name="TotalBytes">Size of those files in bytes.</param>
/// <param name="Layout">How tensors were named.</param>
/// <param name="StoredDType">The dtype of the stored weights, e.g. "BF16" (or "BF16 + F32" when they mix dtypes).</param>
public sealed record CheckpointInfo(string Directory, IReadOnlyList<string> Files, long TotalBytes, CheckpointLayout Layout, string StoredDType)
{
    /// <summary>The dtype weights were converted to and activations are computed in, e.g. "bfloat16".</summary>
    public string ComputeDType { get; init; } = "";

    /// <summary>Why that dtype was chosen, e.g. "auto: bfloat16, this CPU has native bfloat16 (AVX512-BF16); stored F16".</summary>
    public string ComputeDTypeReason { get; init; } = "";

    /// <summary>Tells the layout from the name of the token embedding.</summary>
    /// <param name="checkpoint">The opened checkpoint.</param>
    /// <param name="config">Its configuration (named in the error).</param>
    /// <exception cref="CheckpointException">Neither layout's embedding is present.</exception>
    internal static CheckpointLayout DetectLayout(ShardedCheckpoint checkpoint, DecoderConfig config)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var names = checkpoint.TensorNames as ISet<string> ?? checkpoint.TensorNames.ToHashSet(StringComparer.Ordinal);
        return names.Contains("model.embed_tokens.weight") ? CheckpointLayout.CausalLM
            : names.Contains("embed_tokens.weight") ? CheckpointLayout.BaseModel
            : throw new CheckpointException(checkpoint.SourcePath,
                $"neither 'model.embed_tokens.weight' nor 'embed_tokens.weight' is present; this is not a {config.Family} decoder checkpoint.");
    }

    /// <summary>The floating dtypes of the stored tensors, most bytes first, e.g. "BF16" or "BF16 + F32".</summary>
    internal static string DescribeStoredDTypes(ShardedCheckpoint checkpoint) =>
        string.Join(" + ", BytesByDType(checkpoint).OrderByDescending(pair => pair.Value).Select(pair => pair.Key.ToString()));

    /// <summary>The floating dtype most of the stored bytes use (what <see cref="ComputeDType.AsStored"/> computes in).</summary>
    internal static ScalarType DominantDType(ShardedCheckpoint checkpoint)
    {
        var bytes = BytesByDType(checkpoint);
        var dominant = bytes.Count == 0 ? SafetensorsDType.F32 : bytes.MaxBy(pair => pair.Value).Key;
        return dominant.ToScalarType() ?? ScalarType.Float32;
    }

    private static Dictionary<SafetensorsDType, long> BytesByDType(ShardedCheckpoint checkpoint)
    {
        var bytes = new Dictionary<SafetensorsDType, long>();
        foreach (var name in checkpoint.TensorNames)
        {
            var info = checkpoint.GetInfo(name);
            if (info.DType is SafetensorsDType.F32 or SafetensorsDType.BF16 or SafetensorsDType.F16)
                bytes[info.DType] = bytes.GetValueOrDefault(info.DType) + (info.DataEnd - info.DataBegin);
        }
        return bytes;
    }
}
