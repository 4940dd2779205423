using LastTokenEmbeddings.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Rotary position embedding in the <c>rotate_half</c> convention that Hugging Face checkpoints
/// are permuted for. Cos/sin tables are computed once per forward, in float32, and shared by every layer.
/// </summary>
internal sealed class RotaryEmbedding : nn.Module
{
    private readonly Tensor inv_freq;

    /// <summary>Creates the frequency table <c>1 / theta^(2i / headDim)</c>, rescaled for <c>llama3</c> rope.</summary>
    /// <param name="headDim">Width of one attention head (even).</param>
    /// <param name="rope">Rope type and parameters.</param>
    /// <param name="device">Device to hold the table on.</param>
    public RotaryEmbedding(int headDim, RotaryEmbeddingParameters rope, Device device) : base(nameof(RotaryEmbedding))
    {
        using var scope = NewDisposeScope();
        // Same float32 arithmetic as transformers, so angles agree to the last bit.
        using var width = headDim.ToScalar(); // explicit scalars stay alive during the native calls (see Scalars)
        using var one = 1.0.ToScalar();
        var exponent = Scalars.Arange(0, headDim, 2).to(ScalarType.Float32) / width;
        var frequencies = one / pow(tensor((float)rope.Theta), exponent);
        if (rope.Type == "llama3")
            frequencies = tensor(Llama3Frequencies(frequencies.data<float>().ToArray(), rope));
        inv_freq = frequencies.to(device).DetachFromDisposeScope(); // owned by the module
        register_buffer(nameof(inv_freq), inv_freq, persistent: false);
    }

    /// <summary>
    /// Llama 3.1's scaling (transformers' <c>_compute_llama3_parameters</c>, in float32 as torch computes it):
    /// wavelengths longer than <c>original / low_freq_factor</c> are divided by <c>factor</c>, shorter than
    /// <c>original / high_freq_factor</c> kept, and those between interpolated smoothly.
    /// </summary>
    internal static float[] Llama3Frequencies(float[] frequencies, RotaryEmbeddingParameters rope)
    {
        var original = (float)rope.OriginalMaxPositionEmbeddings;
        float factor = (float)rope.Factor, low = (float)rope.LowFrequencyFactor, high = (float)rope.HighFrequencyFactor;
        var lowFrequencyWavelength = original / low;
        var highFrequencyWavelength = original / high;
        var scaled = new float[frequencies.Length];
        for (var i = 0; i < frequencies.Length; i++)
        {
            var wavelength = (float)(2 * Math.PI) / frequencies[i];
            var frequency = wavelength > lowFrequencyWavelength ? frequencies[i] / factor : frequencies[i];
            var isMedium = !(wavelength < highFrequencyWavelength) && !(wavelength > lowFrequencyWavelength);
            if (isMedium)
            {
                var smooth = (original / wavelength - low) / (high - low);
                frequency = (1 - smooth) * frequency / factor + smooth * frequency;
            }
            scaled[i] = frequency;
        }
        return scaled;
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
