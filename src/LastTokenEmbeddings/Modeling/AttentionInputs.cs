using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>What every layer's attention needs besides the hidden states; computed once per forward.</summary>
/// <param name="Cos">Rotary cos table [batch, seq, headDim].</param>
/// <param name="Sin">Rotary sin table [batch, seq, headDim].</param>
/// <param name="FullMask">Boolean mask [batch, 1, seq, seq] (True = attend) for full-attention layers; <see langword="null"/> means plain causal attention.</param>
/// <param name="WindowMasks">Masks of sliding-window layers by window, for the windows shorter than the sequence.</param>
internal sealed record AttentionInputs(Tensor Cos, Tensor Sin, Tensor? FullMask, IReadOnlyDictionary<int, Tensor> WindowMasks)
{
    /// <summary>The mask for a layer with this window (a window covering the whole sequence is full attention).</summary>
    public Tensor? MaskFor(int? window) =>
        window is { } w && WindowMasks.TryGetValue(w, out var mask) ? mask : FullMask;
}
