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
    /// The mask of queries <c>[queryStart, queryEnd)</c> against keys <c>[keyStart, keyEnd)</c>, with the rules of
    /// <see cref="Build"/>: [batch, 1, queries, keys].
    /// </summary>
    /// <param name="segments">[batch, seq] sequence labels, 0 for padding.</param>
    /// <param name="queryStart">First query position.</param>
    /// <param name="queryEnd">One past the last query position.</param>
    /// <param name="keyStart">First key position.</param>
    /// <param name="keyEnd">One past the last key position.</param>
    /// <param name="slidingWindow">Window length, or <see langword="null"/>.</param>
    public static Tensor Block(Tensor segments, long queryStart, long queryEnd, long keyStart, long keyEnd, int? slidingWindow)
    {
        using var scope = NewDisposeScope();
        var i = Scalars.Arange(queryStart, queryEnd, 1, segments.device).unsqueeze(1);
        var j = Scalars.Arange(keyStart, keyEnd, 1, segments.device).unsqueeze(0);
        var allowed = Causal(i, j);
        if (slidingWindow is { } window)
            allowed = allowed.logical_and(Window(i, j, window));
        var querySegments = segments[TensorIndex.Colon, TensorIndex.Slice(queryStart, queryEnd)];
        var keySegments = segments[TensorIndex.Colon, TensorIndex.Slice(keyStart, keyEnd)];
        var same = querySegments.unsqueeze(2).eq(keySegments.unsqueeze(1)).logical_and(keySegments.ne(Scalars.Zero).unsqueeze(1));
        var mask = allowed.unsqueeze(0).logical_and(same).logical_or(i.eq(j).unsqueeze(0));
        return mask.unsqueeze(1).MoveToOuterDisposeScope();
    }

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
