using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Boolean attention masks (True = attend) built from small predicates over query index i and key index j.
/// </summary>
internal static class AttentionMask
{
    /// <summary>Causal: j &lt;= i.</summary>
    /// <param name="i">Query indices [T, 1].</param>
    /// <param name="j">Key indices [1, T].</param>
    public static Tensor Causal(Tensor i, Tensor j) => j.le(i);

    /// <summary>Sliding window: i - j &lt; window (combine with <see cref="Causal"/> for 0 &lt;= i - j).</summary>
    /// <param name="i">Query indices [T, 1].</param>
    /// <param name="j">Key indices [1, T].</param>
    /// <param name="window">Window length in tokens.</param>
    public static Tensor Window(Tensor i, Tensor j, int window)
    {
        using var limit = window.ToScalar(); // disposed after the call, so alive during it (see Scalars)
        return (i - j).lt(limit);
    }

    /// <summary>Same sequence: query and key carry the same nonzero label (labels from <see cref="Build"/>'s segments).</summary>
    /// <param name="segments">[batch, seq] labels, 0 for padding.</param>
    /// <returns>[batch, seq, seq].</returns>
    public static Tensor SameSequence(Tensor segments) =>
        segments.unsqueeze(2).eq(segments.unsqueeze(1)).logical_and(segments.ne(Scalars.Zero).unsqueeze(1));

    /// <summary>
    /// The mask for a batch: causal, windowed when <paramref name="slidingWindow"/> is set, within one sequence
    /// (padding hidden, packed sequences kept apart). Every token may attend itself, so padded query rows stay
    /// finite (they are discarded later) instead of producing NaN that would leak through 0 × NaN in the next layer.
    /// </summary>
    /// <param name="segments">[batch, seq]: 0 for padding (either side), otherwise the label of the sequence a token belongs to (1 when a row holds one text).</param>
    /// <param name="slidingWindow">Window length, or <see langword="null"/> for plain causal attention.</param>
    /// <returns>[batch, 1, seq, seq] boolean.</returns>
    public static Tensor Build(Tensor segments, int? slidingWindow)
    {
        using var scope = NewDisposeScope();
        var length = segments.shape[1];
        var index = Scalars.Arange(length, segments.device);
        var i = index.unsqueeze(1);
        var j = index.unsqueeze(0);
        var allowed = Causal(i, j);
        if (slidingWindow is { } window)
            allowed = allowed.logical_and(Window(i, j, window));
        var mask = allowed.unsqueeze(0).logical_and(SameSequence(segments)).logical_or(i.eq(j).unsqueeze(0));
        return mask.unsqueeze(1).MoveToOuterDisposeScope();
    }
}
