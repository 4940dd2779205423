using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Rotary position embedding in the <c>rotate_half</c> convention that Hugging Face checkpoints
/// are permuted for. Cos/sin tables are computed once per forward, in float32, and shared by every layer.
/// </summary>
public sealed class MistralRotaryEmbedding : nn.Module
{
    private readonly Tensor inv_freq;

    /// <summary>Creates the frequency table <c>1 / theta^(2i / headDim)</c>.</summary>
    /// <param name="headDim">Width of one attention head (even).</param>
    /// <param name="theta">Rotary base (<c>rope_theta</c>).</param>
    /// <param name="device">Device to hold the table on.</param>
    public MistralRotaryEmbedding(int headDim, double theta, Device device) : base(nameof(MistralRotaryEmbedding))
    {
        using var scope = NewDisposeScope();
        // Same float32 arithmetic as transformers, so angles agree to the last bit.
        using var width = headDim.ToScalar(); // explicit scalars stay alive during the native calls (see Scalars)
        using var one = 1.0.ToScalar();
        var exponent = Scalars.Arange(0, headDim, 2).to(ScalarType.Float32) / width;
        inv_freq = (one / pow(tensor((float)theta), exponent)).to(device).DetachFromDisposeScope(); // owned by the module
        register_buffer(nameof(inv_freq), inv_freq, persistent: false);
    }

    /// <summary>Cos and sin tables [batch, seq, headDim] for the given positions, cast to <paramref name="dtype"/>.</summary>
    /// <param name="positionIds">Positions [batch, seq] (int64).</param>
    /// <param name="dtype">The compute dtype of the attention inputs.</param>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var freqs = positionIds.to(ScalarType.Float32).unsqueeze(-1) * inv_freq;
        var angles = cat([freqs, freqs], dim: -1);
        var cos = angles.cos().to(dtype).MoveToOuterDisposeScope();
        var sin = angles.sin().to(dtype).MoveToOuterDisposeScope();
        return (cos, sin);
    }

    /// <summary>Applies the rotation to queries or keys [batch, heads, seq, headDim].</summary>
    /// <param name="x">Queries or keys.</param>
    /// <param name="cos">Cos table from <see cref="Forward"/>.</param>
    /// <param name="sin">Sin table from <see cref="Forward"/>.</param>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var half = x.shape[^1] / 2;
        var rotated = cat([-x[TensorIndex.Ellipsis, TensorIndex.Slice(half)], x[TensorIndex.Ellipsis, TensorIndex.Slice(0, half)]], dim: -1);
        return (x * cos.unsqueeze(1)).add_(rotated.mul_(sin.unsqueeze(1)), Scalars.One).MoveToOuterDisposeScope();
    }
}
