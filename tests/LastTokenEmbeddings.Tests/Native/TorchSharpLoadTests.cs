using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Native;

public class TorchSharpLoadTests
{
    [Test]
    public void TorchSharp_native_library_loads_and_computes()
    {
        using var x = TestTensors.Range(4);
        Assert.That(x.sum().item<float>(), Is.EqualTo(6f));
    }
}
