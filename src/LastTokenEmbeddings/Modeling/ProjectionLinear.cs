using LastTokenEmbeddings.Native;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// A decoder projection (<c>q_proj</c> … <c>down_proj</c>): <c>x · weightᵀ (+ bias)</c>, with the checkpoint's
/// <c>weight</c> and <c>bias</c> names. In float32 on CPU the weight is packed once for MKL (<see cref="PackedSgemm"/>);
/// <c>weight</c> then stays the checkpoint's memory-mapped tensor, possibly in its stored dtype, with its pages released.
/// </summary>
internal sealed class ProjectionLinear : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;
    private readonly PackedWeight? packed;

    /// <param name="weight">[out, in]; ownership passes to the module.</param>
    /// <param name="bias">[out] in the compute dtype, or none.</param>
    /// <param name="packed">The weight packed for float32 compute, or none.</param>
    public ProjectionLinear(Tensor weight, Tensor? bias, PackedWeight? packed) : base(nameof(ProjectionLinear))
    {
        this.weight = new Parameter(weight, requires_grad: false);
        this.bias = bias is null ? null : new Parameter(bias, requires_grad: false);
        this.packed = packed;
        RegisterComponents();
    }

    /// <summary>Whether the float32 path uses the packed weight.</summary>
    public bool IsPacked => packed is not null;

    /// <summary>Projects the last dimension of <paramref name="input"/>.</summary>
    /// <param name="input">[..., in].</param>
    public override Tensor forward(Tensor input)
    {
        if (packed is not null && input.dtype == ScalarType.Float32 && input.device_type == TorchSharp.DeviceType.CPU)
        {
            var output = PackedSgemm.Multiply(input, packed);
            return bias is null ? output : output.add_(bias, Scalars.One);
        }
        if (weight.dtype == input.dtype)
            return nn.functional.linear(input, weight, bias);
        using var converted = weight.to(input.dtype); // packed weights keep the stored dtype; only a foreign input gets here
        return nn.functional.linear(input, converted, bias);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            packed?.Dispose();
        base.Dispose(disposing);
    }
}
