using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests;

/// <summary>Tensors tests build, without TorchSharp's implicit Scalars (banned: they can be finalized mid-call).</summary>
internal static class TestTensors
{
    /// <summary>0, 1, ..., <paramref name="count"/> − 1 as <paramref name="dtype"/>.</summary>
    public static Tensor Range(long count, ScalarType dtype = ScalarType.Float32) => Range(0, count, dtype);

    /// <summary><paramref name="start"/>, ..., <paramref name="stop"/> − 1 as <paramref name="dtype"/>.</summary>
    public static Tensor Range(long start, long stop, ScalarType dtype = ScalarType.Float32) =>
        arange(SafeScalars.OfInteger(start), SafeScalars.OfInteger(stop), SafeScalars.OfInteger(1), dtype);
}
