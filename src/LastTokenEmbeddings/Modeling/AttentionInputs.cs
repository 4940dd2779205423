using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>What every layer's attention needs besides the hidden states; computed once per forward.</summary>
internal sealed class AttentionInputs
{
    private readonly Dictionary<int, Tensor> windowMasks;

    /// <param name="cos">Rotary cos table [batch, seq, headDim].</param>
    /// <param name="sin">Rotary sin table [batch, seq, headDim].</param>
    /// <param name="segments">Sequence labels [batch, seq] (0 = padding), for masks built block by block.</param>
    /// <param name="causalFriendly">Each row holds one sequence, right-padded if at all: full attention needs no mask.</param>
    /// <param name="fullMask">Boolean mask [batch, 1, seq, seq] (True = attend) for full-attention layers; <see langword="null"/>: plain causal attention or blocked attention.</param>
    /// <param name="windowMasks">Masks of sliding-window layers by window, for windows shorter than the sequence (short sequences only).</param>
    /// <param name="queryBlock">When set, masked attention runs in query blocks of this many tokens (long sequences), never materialising a [seq, seq] mask.</param>
    public AttentionInputs(Tensor cos, Tensor sin, Tensor segments, bool causalFriendly, Tensor? fullMask, Dictionary<int, Tensor> windowMasks, int? queryBlock)
    {
        Cos = cos;
        Sin = sin;
        Segments = segments;
        CausalFriendly = causalFriendly;
        FullMask = fullMask;
        this.windowMasks = windowMasks;
        QueryBlock = queryBlock;
    }

    public Tensor Cos { get; }

    public Tensor Sin { get; }

    public Tensor Segments { get; }

    public bool CausalFriendly { get; }

    public Tensor? FullMask { get; }

    public int? QueryBlock { get; }

    /// <summary>The mask for a layer with this window (a window covering the whole sequence is full attention).</summary>
    public Tensor? MaskFor(int? window) =>
        window is { } w && windowMasks.TryGetValue(w, out var mask) ? mask : FullMask;

    /// <summary>Whether a layer with this window can use plain causal attention (no mask at all).</summary>
    public bool IsPlainCausal(int? window) =>
        CausalFriendly && (window is null || window >= Segments.shape[1]);
}
