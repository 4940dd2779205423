using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LastTokenEmbeddings.Native;

/// <summary>
/// Gives AMD CPUs oneMKL's fast float32 GEMM kernels. The oneMKL inside libtorch picks slower kernels when
/// <c>mkl_serv_intel_cpu_true()</c> says the CPU is not Intel; a tiny shim library that returns 1, loaded with
/// RTLD_GLOBAL before libtorch resolves that symbol, overrides the check (about 2.3× float32 matmul throughput on
/// Zen 5, float32-level error). Applied automatically on Linux x64 AMD CPUs with AVX2 when a model is first
/// loaded; turn it off with <see cref="Enabled"/> = false or the environment variable <c>LTE_FAST_MKL=0</c>.
/// It must run before anything calls into MKL, so set <see cref="Enabled"/> before the first TorchSharp call.
/// </summary>
public static class MklFastPath
{
    private const string ShimFileName = "libltemklshim.so";
    private const int RtldNow = 2;
    private const int RtldGlobal = 0x100;
    private static readonly Lock Gate = new();
    private static bool attempted;

    /// <summary>Whether the shim may be loaded (default: true unless <c>LTE_FAST_MKL=0</c>).</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("LTE_FAST_MKL") != "0";

    /// <summary>Whether the shim was loaded in this process.</summary>
    public static bool IsActive { get; private set; }

    /// <summary>Why the shim is or is not active, for diagnostics (e.g. `lte info`).</summary>
    public static string Status { get; private set; } = "not attempted";

    /// <summary>Loads the shim once, where it is safe and useful; later calls do nothing.</summary>
    public static void EnsureApplied()
    {
        lock (Gate)
        {
            if (attempted) return;
            attempted = true;
            Status = Apply();
        }
    }

    private static string Apply()
    {
        var linuxX64 = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
        var reason = WhyNot(Enabled, linuxX64, linuxX64 && Avx2.IsSupported, linuxX64 && IsAmd(), linuxX64 ? FindShim() : null);
        if (reason is not null) return reason;
        var path = FindShim()!;
        var handle = DlOpen(path, RtldNow | RtldGlobal);
        if (handle == IntPtr.Zero) return $"dlopen({path}) failed";
        IsActive = true;
        return "active";
    }

    /// <summary>Why the shim must not be loaded on such a host, or <see langword="null"/> when it should be.</summary>
    internal static string? WhyNot(bool enabled, bool linuxX64, bool avx2, bool amd, string? shimPath) =>
        !enabled ? "disabled"
        : !linuxX64 ? "not Linux x64"
        : !avx2 ? "CPU lacks AVX2"
        : !amd ? "not an AMD CPU (MKL already picks its fast kernels)"
        : shimPath is null ? $"{ShimFileName} not found next to the application"
        : null;

    /// <summary>
    /// The code branch oneMKL dispatches to (its <c>mkl_serv_cpu_detect()</c>: 0 is the generic branch, higher values
    /// AVX2/AVX-512 kernels), or <see langword="null"/> when libtorch's MKL is not loaded or not on Linux x64.
    /// </summary>
    internal static int? MklCodeBranch()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return null;
        if (!NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "mkl_serv_cpu_detect", out var detect))
        {
            var torch = AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name == "TorchSharp") ? DlOpen("libtorch_cpu.so", RtldNow | 0x4 /* RTLD_NOLOAD */) : IntPtr.Zero;
            if (torch == IntPtr.Zero || !NativeLibrary.TryGetExport(torch, "mkl_serv_cpu_detect", out detect))
                return null;
        }
        unsafe
        {
            return ((delegate* unmanaged<int>)detect)();
        }
    }

    private static bool IsAmd()
    {
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> vendor = [ebx, edx, ecx];
        return MemoryMarshal.AsBytes(vendor).SequenceEqual("AuthenticAMD"u8);
    }

    private static string? FindShim()
    {
        var directories = new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(MklFastPath).Assembly.Location) ?? "" };
        return directories
            .SelectMany(dir => new[] { Path.Combine(dir, "runtimes", "linux-x64", "native", ShimFileName), Path.Combine(dir, ShimFileName) })
            .FirstOrDefault(File.Exists);
    }

    private static IntPtr DlOpen(string path, int flags)
    {
        try
        {
            return LibC.dlopen(path, flags);
        }
        catch (EntryPointNotFoundException)
        {
            return LibDl.dlopen(path, flags); // glibc before 2.34 keeps dlopen in libdl
        }
    }

    private static class LibC
    {
        [DllImport("libc.so.6", CharSet = CharSet.Ansi, BestFitMapping = false)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr dlopen(string fileName, int flags);
    }

    private static class LibDl
    {
        [DllImport("libdl.so.2", CharSet = CharSet.Ansi, BestFitMapping = false)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr dlopen(string fileName, int flags);
    }
}
