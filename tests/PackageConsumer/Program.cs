// Proves that an application referencing the LastTokenEmbeddings *package* can load TorchSharp's
// native library on this host (the package's buildTransitive targets patch libLibTorchSharp.so in
// the build/publish output when the host libstdc++ is too old).
using LastTokenEmbeddings.Pooling;
using TorchSharp;

try
{
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
