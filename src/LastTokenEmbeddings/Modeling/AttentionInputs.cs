using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>What every layer's attention needs besides the hidden states; computed once per forward.</summary>
/// <param name="Cos">Rotary cos table [batch, seq, headDim].</param>
/// <param name="Sin">Rotary sin table [batch, seq, headDim].</param>
/// <param name="Mask">Boolean mask [batch, 1, seq, seq], True = attend; <see langword="null"/> means plain causal attention.</param>
public sealed record AttentionInputs(Tensor Cos, Tensor Sin, Tensor? Mask);
