using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LastTokenEmbeddings.Native;

namespace LastTokenEmbeddings.Tests.Native;

public class MklFastPathTests
{
    [Test]
    public void Shim_is_active_exactly_on_linux_x64_amd_cpus_with_avx2()
    {
        _ = Modeling.SharedModel.Float32; // loading a model applies it
        var amd = X86Base.IsSupported && X86Base.CpuId(0, 0) is var (_, ebx, ecx, edx)
            && BitConverter.GetBytes(ebx).Concat(BitConverter.GetBytes(edx)).Concat(BitConverter.GetBytes(ecx)).SequenceEqual("AuthenticAMD"u8.ToArray());
        var expected = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64 && Avx2.IsSupported && amd
            && Environment.GetEnvironmentVariable("LTE_FAST_MKL") != "0";
        Assert.That(MklFastPath.IsActive, Is.EqualTo(expected), MklFastPath.Status);
        Assert.That(MklFastPath.Status, Is.Not.EqualTo("not attempted"));
        if (expected)
            Assert.That(File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libltemklshim.so")), Is.True);
    }
}
