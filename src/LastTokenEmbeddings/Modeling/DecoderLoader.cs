using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>Builds a <see cref="DecoderForCausalLM"/> from a Hugging Face model directory of any supported family.</summary>
internal static class DecoderLoader
{
    /// <param name="directory">The model directory.</param>
    /// <param name="options">Dtype and device.</param>
    /// <param name="config">The directory's config.json when the caller has already read it.</param>
    public static DecoderForCausalLM Load(string directory, ModelLoadOptions options, DecoderConfig? config = null) =>
        Build(directory, options, config, headersOnly: false);

    /// <summary>
    /// Checks a checkpoint as <see cref="Load"/> would, from the safetensors headers alone: every tensor the
    /// configuration implies must be present with its shape and a weight dtype, and none may be left over. No
    /// weight data is read. Returns what loading would report.
    /// </summary>
    /// <exception cref="CheckpointException">The first problem found, naming the file and tensor.</exception>
    public static CheckpointInfo Validate(string directory, ModelLoadOptions options, DecoderConfig? config = null)
    {
        using var skeleton = Build(directory, options, config, headersOnly: true);
        return skeleton.Checkpoint;
    }

    private static DecoderForCausalLM Build(string directory, ModelLoadOptions options, DecoderConfig? config, bool headersOnly)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!headersOnly)
            MklFastPath.EnsureApplied();
        if (!System.IO.Directory.Exists(directory))
            throw new CheckpointException(directory, "model directory not found.");
        config ??= DecoderConfig.Load(Path.Combine(directory, "config.json"));
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
        var layout = CheckpointInfo.DetectLayout(checkpoint, config);
        var storedDType = CheckpointInfo.DescribeStoredDTypes(checkpoint);
        var (computeDType, reason) = ChooseComputeDType(options.DType, CheckpointInfo.DominantDType(checkpoint), device);

        var root = new WeightSource(checkpoint, "", computeDType, device, headersOnly);
        var model = new DecoderModel(config, layout == CheckpointLayout.CausalLM ? root.Scope("model") : root);
        Linear? lmHead = null;
        if (layout == CheckpointLayout.CausalLM)
        {
            if (!config.TieWordEmbeddings)
                lmHead = root.Linear("lm_head", config.VocabSize, config.HiddenSize);
            else if (root.Contains("lm_head.weight"))
                root.Ignore("lm_head.weight"); // tied: some exports save the shared matrix twice
        }
        root.EnsureAllTaken(layout == CheckpointLayout.CausalLM ? $"{config.Family}ForCausalLM" : $"{config.Family}Model");
        var info = new CheckpointInfo(Path.GetFullPath(directory), checkpoint.Files, checkpoint.TotalBytes, layout, storedDType)
        {
            ComputeDType = DTypeName(computeDType),
            ComputeDTypeReason = reason,
        };
        var loaded = new DecoderForCausalLM(model, lmHead, layout == CheckpointLayout.CausalLM && config.TieWordEmbeddings, info);
        foreach (var tensor in loaded.parameters().Concat(loaded.buffers()))
            tensor.DetachFromDisposeScope();
        return loaded;
    }

    /// <summary>The compute dtype for <paramref name="requested"/>, and why, in words for <c>lte info</c> and logs.</summary>
    internal static (ScalarType DType, string Reason) ChooseComputeDType(ComputeDType requested, ScalarType stored, Device device)
    {
        var storedName = DTypeName(stored);
        switch (requested)
        {
            case ComputeDType.Float32: return (ScalarType.Float32, "requested");
            case ComputeDType.BFloat16: return (ScalarType.BFloat16, "requested");
            case ComputeDType.Float16: return (ScalarType.Float16, "requested");
            case ComputeDType.AsStored: return (stored, $"requested: as stored ({storedName})");
            case ComputeDType.Auto:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(requested), requested, "Unknown compute dtype.");
        }
        if (device.type != TorchSharp.DeviceType.CPU)
            return stored == ScalarType.Float32 ? (ScalarType.Float32, $"auto: float32 as stored on {device.type}") : (stored, $"auto: {storedName} as stored on {device.type}");
        if (stored == ScalarType.Float16 && CpuFeatures.HasNativeFloat16)
            return (ScalarType.Float16, $"auto: float16 as stored; this CPU computes float16 natively ({CpuFeatures.Description})");
        if (CpuFeatures.HasNativeBFloat16)
            return (ScalarType.BFloat16, $"auto: bfloat16, this CPU has native bfloat16 ({CpuFeatures.Description}); stored {storedName}");
        return (ScalarType.Float32, $"auto: float32, this CPU lacks native bfloat16 and float16 ({CpuFeatures.Description}); stored {storedName}");
    }

    internal static string DTypeName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        _ => dtype.ToString(),
    };
}
