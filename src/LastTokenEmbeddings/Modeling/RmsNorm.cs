using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>Root-mean-square layer norm over the last dimension, computed in float32 and cast back, as transformers does.</summary>
internal sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Scalar eps; // a field, so it stays alive during the native call (see Scalars)

    /// <summary>Wraps a loaded <c>weight</c> of shape [width].</summary>
    /// <param name="weight">The learned scale; ownership passes to the module.</param>
    /// <param name="eps">Added to the mean square before the reciprocal square root.</param>
    public RmsNorm(Tensor weight, double eps) : base(nameof(RmsNorm))
    {
        this.weight = new Parameter(weight, requires_grad: false);
        this.eps = eps.ToScalar();
        RegisterComponents();
    }

    /// <summary>Normalises the last dimension of <paramref name="input"/>.</summary>
    /// <param name="input">[..., width].</param>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = input.to(ScalarType.Float32);
        var variance = x.pow(Scalars.Two).mean([-1L], keepdim: true);
        var normed = x * rsqrt(variance.add_(eps, Scalars.One));
        // As transformers: cast back, then scale (in place: the buffer is ours either way).
        var cast = normed.dtype == input.dtype ? normed : normed.to(input.dtype);
        return cast.mul_(weight).MoveToOuterDisposeScope();
    }
}
