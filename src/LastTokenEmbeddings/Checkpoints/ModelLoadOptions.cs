namespace LastTokenEmbeddings.Checkpoints;

/// <summary>The dtype weights are converted to and activations computed in.</summary>
public enum ComputeDType
{
    /// <summary>Keep the checkpoint's stored dtype (no conversion; weights stay memory-mapped on CPU).</summary>
    AsStored,

    /// <summary>float32: exact agreement with transformers' float32 outputs; twice the memory of bfloat16.</summary>
    Float32,

    /// <summary>bfloat16: half the memory and, on CPUs with AVX512-BF16 or AMX, several times faster matmuls.</summary>
    BFloat16,

    /// <summary>float16: half the memory; slow on most CPUs, intended for GPUs.</summary>
    Float16,
}

/// <summary>How a checkpoint is loaded.</summary>
public sealed class ModelLoadOptions
{
    /// <summary>Compute dtype; <see cref="ComputeDType.AsStored"/> by default.</summary>
    public ComputeDType DType { get; set; } = ComputeDType.AsStored;

    /// <summary>
    /// TorchSharp device string such as "cpu" or "cuda:0" (CUDA needs the app to reference a CUDA build of TorchSharp).
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>A copy, so later changes to this instance do not affect a loaded model.</summary>
    public ModelLoadOptions Clone() => (ModelLoadOptions)MemberwiseClone();
}
