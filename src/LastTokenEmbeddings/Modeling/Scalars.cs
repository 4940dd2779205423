using TorchSharp;

namespace LastTokenEmbeddings.Modeling;

/// <summary>
/// Scalars handed to libtorch must stay reachable until the native call returns. TorchSharp's implicit
/// conversions (<c>t.ne(0)</c>) and its own overloads without an alpha (<c>a + b</c> and <c>a.add_(b)</c> call
/// <c>add(b, 1)</c>) create finalizable <see cref="Scalar"/> objects that the GC may collect while the call still
/// reads them, which intermittently corrupts the value ("Expected false to be true" from <c>Scalar::toFloat</c>).
/// Library code therefore passes these, which never die, or <c>using</c>-scoped ones.
/// </summary>
internal static class Scalars
{
    public static readonly Scalar Zero = 0.ToScalar();
    public static readonly Scalar One = 1.ToScalar();
    public static readonly Scalar Two = 2.ToScalar();

    /// <summary><c>arange(start, stop, step)</c> as int64, with its scalars kept alive through the call.</summary>
    public static torch.Tensor Arange(long start, long stop, long step, torch.Device? device = null)
    {
        using var first = start.ToScalar();
        using var end = stop.ToScalar();
        using var stride = step.ToScalar();
        return torch.arange(first, end, stride, torch.ScalarType.Int64, device);
    }

    /// <summary><c>arange(stop)</c> as int64 on <paramref name="device"/>, with its scalar kept alive through the call.</summary>
    public static torch.Tensor Arange(long stop, torch.Device device) => Arange(0, stop, 1, device);
}
