namespace LastTokenEmbeddings.Checkpoints;

/// <summary>The dtype weights are converted to and activations computed in.</summary>
public enum ComputeDType
{
    /// <summary>
    /// The fastest accurate dtype for the device (the default). On CPU: bfloat16 where the CPU has native bfloat16
    /// (AVX512-BF16 or AMX), else float32; float16 only where the CPU computes it natively. On GPUs: the stored
    /// dtype, float32 for float32 checkpoints.
    /// </summary>
    Auto,

    /// <summary>Keep the checkpoint's stored dtype (no conversion; weights stay memory-mapped on CPU). A checkpoint that mixes dtypes computes in the dtype most of its bytes use.</summary>
    AsStored,

    /// <summary>float32: exact agreement with transformers' float32 outputs; twice the memory of bfloat16.</summary>
    Float32,

    /// <summary>bfloat16: half the memory and, on CPUs with AVX512-BF16 or AMX, several times faster matmuls.</summary>
    BFloat16,

    /// <summary>float16: half the memory; very slow on CPUs without native float16 arithmetic, intended for GPUs.</summary>
    Float16,
}

/// <summary>How a checkpoint is loaded.</summary>
public sealed class ModelLoadOptions
{
    /// <summary>Compute dtype; <see cref="ComputeDType.Auto"/> by default.</summary>
    public ComputeDType DType { get; set; } = ComputeDType.Auto;

    /// <summary>
    /// TorchSharp device string such as "cpu" or "cuda:0" (CUDA needs the app to reference a CUDA build of TorchSharp).
    /// </summary>
    public string Device { get; set; } = "cpu";

    /// <summary>
    /// How a Hugging Face model id (<c>ORG/NAME</c>) is resolved: endpoint, token, revision, cache, offline mode.
    /// <see langword="null"/> reads the <c>HF_*</c> environment variables (<see cref="Hub.HubOptions.FromEnvironment()"/>).
    /// An existing directory is always used as it is.
    /// </summary>
    public Hub.HubOptions? Hub { get; set; }

    /// <summary>
    /// The id the model reports (<see cref="Embeddings.IEmbeddingModel.ModelId"/>, Microsoft.Extensions.AI metadata);
    /// <see langword="null"/>: <c>ORG/NAME</c> for a hub id or a hub-cache snapshot, else the directory's name.
    /// </summary>
    public string? ModelId { get; set; }

    /// <summary>A copy, so later changes to this instance do not affect a loaded model.</summary>
    public ModelLoadOptions Clone() => (ModelLoadOptions)MemberwiseClone();
}
