using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>Builds a <see cref="MistralForCausalLM"/> from a Hugging Face model directory.</summary>
internal static class MistralCheckpointLoader
{
    /// <param name="directory">The model directory.</param>
    /// <param name="options">Dtype and device.</param>
    /// <param name="config">The directory's config.json when the caller has already read it.</param>
    public static MistralForCausalLM Load(string directory, ModelLoadOptions options, MistralConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Native.MklFastPath.EnsureApplied();
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException(directory, "model directory not found.");
        config ??= MistralConfig.Load(Path.Combine(directory, "config.json"));
        Device device;
        try
        {
            device = TorchSharp.torch.device(options.Device);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or System.Runtime.InteropServices.ExternalException)
        {
            throw new ArgumentException($"Device '{options.Device}' is not a valid TorchSharp device: {e.Message}", nameof(options), e);
        }

        // Weights must outlive any dispose scope the caller happens to be in.
        using var scope = NewDisposeScope();
        using var checkpoint = ShardedCheckpoint.Open(directory);
        var layout = CheckpointInfo.DetectLayout(checkpoint);
        var embeddingName = layout == CheckpointLayout.CausalLM ? "model.embed_tokens.weight" : "embed_tokens.weight";
        var storedDType = checkpoint.GetInfo(embeddingName).DType;

        var root = new WeightSource(checkpoint, "", ToScalarType(options.DType), device);
        var model = new MistralModel(config, layout == CheckpointLayout.CausalLM ? root.Scope("model") : root);
        Linear? lmHead = null;
        if (layout == CheckpointLayout.CausalLM)
        {
            if (!config.TieWordEmbeddings)
                lmHead = root.Linear("lm_head", config.VocabSize, config.HiddenSize);
            else if (root.Contains("lm_head.weight"))
                root.Ignore("lm_head.weight"); // tied: some exports save the shared matrix twice
        }
        root.EnsureAllTaken();
        var info = new CheckpointInfo(Path.GetFullPath(directory), checkpoint.Files, checkpoint.TotalBytes, layout, storedDType.ToString());
        var loaded = new MistralForCausalLM(model, lmHead, layout == CheckpointLayout.CausalLM && config.TieWordEmbeddings, info);
        foreach (var tensor in loaded.parameters().Concat(loaded.buffers()))
            tensor.DetachFromDisposeScope();
        return loaded;
    }

    private static ScalarType? ToScalarType(ComputeDType dtype) => dtype switch
    {
        ComputeDType.AsStored => null,
        ComputeDType.Float32 => ScalarType.Float32,
        ComputeDType.BFloat16 => ScalarType.BFloat16,
        ComputeDType.Float16 => ScalarType.Float16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown compute dtype."),
    };
}
