using LastTokenEmbeddings.Checkpoints;
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

    /// <summary>An RMSNorm over the last <paramref name="width"/> values.</summary>
    public static RmsNorm RmsNorm(this WeightSource weights, string name, long width, double eps) =>
        new(weights.Take($"{name}.weight", width), eps);
}
