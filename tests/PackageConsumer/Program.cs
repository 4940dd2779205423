// Proves that an application referencing the LastTokenEmbeddings *package* can load TorchSharp's
// native library on this host (the package's buildTransitive targets patch libLibTorchSharp.so in
// the build/publish output when the host libstdc++ is too old).
using LastTokenEmbeddings.Pooling;
using TorchSharp;

try
{
    // The MKL shim must ship in the package and be found next to the app (build and publish layouts).
    LastTokenEmbeddings.Native.MklFastPath.EnsureApplied();
    Console.WriteLine($"PackageConsumer: MKL fast path: {LastTokenEmbeddings.Native.MklFastPath.Status}");
    if (LastTokenEmbeddings.Native.MklFastPath.Status.Contains("not found", StringComparison.Ordinal))
    {
        Console.Error.WriteLine("PackageConsumer: FAIL (libltemklshim.so missing from the output)");
        return 1;
    }
    using var x = torch.arange(4);
    using var sum = x.sum();
    var value = sum.item<long>();
    var strategies = PoolingStrategies.Names.Count;
    Console.WriteLine($"PackageConsumer: torch.arange(4).sum() = {value}; pooling strategies = {strategies}");
    if (value != 6)
    {
        Console.Error.WriteLine("PackageConsumer: FAIL (expected 6)");
        return 1;
    }
    Console.WriteLine("PackageConsumer: OK");
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"PackageConsumer: FAIL {e}");
    return 2;
}
