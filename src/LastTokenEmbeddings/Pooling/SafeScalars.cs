using System.Collections.Concurrent;
using TorchSharp;

namespace LastTokenEmbeddings.Pooling;

/// <summary>
/// Scalars that stay alive through every native call, for custom pooling strategies. TorchSharp 0.107's implicit
/// conversions (<c>t.masked_fill(mask, 0)</c>, <c>t * 0.5f</c>) and its <c>add(b)</c> overloads without an alpha
/// create finalizable <see cref="Scalar"/> objects that the GC may collect while libtorch still reads them, which
/// intermittently corrupts values. Pass <c>SafeScalars.Of(0)</c> instead; the build bans the implicit forms in this
/// repository.
/// </summary>
public static class SafeScalars
{
    private static readonly ConcurrentDictionary<double, Scalar> Cache = new();

    /// <summary>A scalar for <paramref name="value"/> that is never collected (cached; up to 1,024 distinct values).</summary>
    /// <param name="value">The value (NaN and infinities allowed).</param>
    public static Scalar Of(double value)
    {
        if (Cache.TryGetValue(value, out var scalar))
            return scalar;
        if (Cache.Count >= 1024)
            throw new InvalidOperationException("SafeScalars caches at most 1,024 distinct values; keep a using-scoped Scalar (value.ToScalar()) for one-off values.");
        return Cache.GetOrAdd(value, v => v.ToScalar());
    }

    /// <summary>A scalar for the integer <paramref name="value"/>, typed as an integer (for integer tensors).</summary>
    /// <param name="value">The value.</param>
    public static Scalar OfInteger(long value) => IntegerCache.GetOrAdd(value, v => v.ToScalar());

    private static readonly ConcurrentDictionary<long, Scalar> IntegerCache = new();
}
