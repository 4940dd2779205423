using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using LastTokenEmbeddings.Native;

namespace LastTokenEmbeddings.Tests.Native;

public class MklFastPathTests
{
    [TestCase(false, true, true, true, "/shim.so", "disabled")]
    [TestCase(true, false, true, true, "/shim.so", "not Linux x64")]
    [TestCase(true, true, false, true, "/shim.so", "CPU lacks AVX2")]
    [TestCase(true, true, true, false, "/shim.so", "not an AMD CPU (MKL already picks its fast kernels)")]
    [TestCase(true, true, true, true, null, "libltemklshim.so not found next to the application")]
    [TestCase(true, true, true, true, "/shim.so", null)]
    public void The_shim_is_loaded_only_on_linux_x64_amd_cpus_with_avx2(bool enabled, bool linuxX64, bool avx2, bool amd, string? shim, string? reason) =>
        Assert.That(MklFastPath.WhyNot(enabled, linuxX64, avx2, amd, shim), Is.EqualTo(reason));

    [Test]
    public void With_the_shim_active_mkl_dispatches_to_its_fast_kernels()
    {
        _ = Modeling.SharedModel.Float32; // loading a model applies the fast path and loads libtorch's MKL
        if (!MklFastPath.IsActive)
            Assert.Ignore($"The fast path is not active here ({MklFastPath.Status}).");
        // Without the shim, oneMKL on an AMD CPU reports branch 0 (generic kernels); with it, an AVX2/AVX-512 branch.
        Assert.That(MklFastPath.MklCodeBranch(), Is.GreaterThan(0), "mkl_serv_cpu_detect()");
    }

    [Test]
    public void The_status_explains_this_host()
    {
        _ = Modeling.SharedModel.Float32;
        var amd = X86Base.IsSupported && X86Base.CpuId(0, 0) is var (_, ebx, ecx, edx)
            && BitConverter.GetBytes(ebx).Concat(BitConverter.GetBytes(edx)).Concat(BitConverter.GetBytes(ecx)).SequenceEqual("AuthenticAMD"u8.ToArray());
        var linuxX64 = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
        Assert.That(MklFastPath.Status, Is.EqualTo(MklFastPath.IsActive ? "active"
            : MklFastPath.WhyNot(MklFastPath.Enabled, linuxX64, linuxX64 && Avx2.IsSupported, linuxX64 && amd, "present")));
    }
}
