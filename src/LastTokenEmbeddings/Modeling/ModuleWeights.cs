using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>Builds the decoder's leaf modules from checkpoint tensors, by their checkpoint names.</summary>
internal static class ModuleWeights
{
    /// <summary><c>{name}.weight</c> [out, in], and <c>{name}.bias</c> [out] when <paramref name="bias"/> is set.</summary>
    public static Linear Linear(this WeightSource weights, string name, long outFeatures, long inFeatures, bool bias = false)
    {
        var weight = new Parameter(weights.Take($"{name}.weight", outFeatures, inFeatures), requires_grad: false);
        return bias
            ? nn.Linear(weight, new Parameter(weights.Take($"{name}.bias", outFeatures), requires_grad: false))
            : nn.Linear(weight);
    }

    /// <summary>
    /// A decoder projection from <c>{name}.weight</c> [out, in] (and <c>{name}.bias</c>). In float32 on CPU, with MKL's
    /// packed GEMM available, the weight is packed once (converted from its stored dtype first) and its mapped pages
    /// released, so the packed copy replaces the checkpoint's pages rather than doubling them.
    /// </summary>
    public static ProjectionLinear Projection(this WeightSource weights, string name, long outFeatures, long inFeatures, bool bias = false)
    {
        var biasTensor = bias ? weights.Take($"{name}.bias", outFeatures) : null;
        var pack = !weights.HeadersOnly && weights.DType == ScalarType.Float32 && weights.Device.type == TorchSharp.DeviceType.CPU
                   && PackedSgemm.IsAvailable && outFeatures * inFeatures <= int.MaxValue / sizeof(float);
        if (!pack)
            return new ProjectionLinear(weights.Take($"{name}.weight", outFeatures, inFeatures), biasTensor, null);
        var stored = weights.TakeStored($"{name}.weight", outFeatures, inFeatures);
        var packed = PackedSgemm.Pack(stored);
        weights.ReleasePages($"{name}.weight");
        return new ProjectionLinear(stored, biasTensor, packed);
    }

    /// <summary>An RMSNorm over the last <paramref name="width"/> values.</summary>
    public static RmsNorm RmsNorm(this WeightSource weights, string name, long width, double eps) =>
        new(weights.Take($"{name}.weight", width), eps);
}
