using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Native;

public class TorchSharpLoadTests
{
    [Test]
    public void TorchSharp_native_library_loads_and_computes()
    {
        using var x = arange(4, dtype: ScalarType.Float32);
        Assert.That(x.sum().item<float>(), Is.EqualTo(6f));
    }
}
