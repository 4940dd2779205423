using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace LastTokenEmbeddings.Native;

/// <summary>
/// Which reduced-precision arithmetic this CPU runs natively. libtorch's bfloat16 matmuls (oneDNN) are fast only
/// with AVX512-BF16 or AMX; its float16 matmuls are fast only with AVX512-FP16 or AMX-FP16 (otherwise they fall back
/// to a scalar path measured at 0.3 GFLOP/s on a Zen 5 core, against 765 for bfloat16).
/// </summary>
internal static class CpuFeatures
{
    private static readonly Lazy<(bool BFloat16, bool Float16, string Description)> Detected = new(Detect);

    /// <summary>Native bfloat16 dot products (x86: AVX512-BF16 or AMX-BF16; Arm: the BF16 extension).</summary>
    public static bool HasNativeBFloat16 => Detected.Value.BFloat16;

    /// <summary>Native float16 arithmetic (x86: AVX512-FP16 or AMX-FP16; Arm: FP16 arithmetic).</summary>
    public static bool HasNativeFloat16 => Detected.Value.Float16;

    /// <summary>The features found, for diagnostics, e.g. "AVX512-BF16".</summary>
    public static string Description => Detected.Value.Description;

    private static (bool, bool, string) Detect()
    {
        if (X86Base.IsSupported)
        {
            // CPUID leaf 7: sub-leaf 0 EDX bit 22 AMX-BF16, bit 23 AVX512-FP16; sub-leaf 1 EAX bit 5 AVX512-BF16, bit 21 AMX-FP16.
            // The AVX-512 forms need the OS to save the AVX-512 state, which Avx512F.IsSupported already checks.
            var (_, _, _, edx0) = X86Base.CpuId(7, 0);
            var (eax1, _, _, _) = X86Base.CpuId(7, 1);
            var avx512 = Avx512F.IsSupported;
            var avx512Bf16 = avx512 && (eax1 & (1 << 5)) != 0;
            var avx512Fp16 = avx512 && (edx0 & (1 << 23)) != 0;
            var amxBf16 = (edx0 & (1 << 22)) != 0;
            var amxFp16 = (eax1 & (1 << 21)) != 0;
            var found = new List<string>();
            if (avx512Bf16) found.Add("AVX512-BF16");
            if (amxBf16) found.Add("AMX-BF16");
            if (avx512Fp16) found.Add("AVX512-FP16");
            if (amxFp16) found.Add("AMX-FP16");
            return (avx512Bf16 || amxBf16, avx512Fp16 || amxFp16, found.Count == 0 ? $"{(avx512 ? "AVX-512" : Avx2.IsSupported ? "AVX2" : "x86-64")} without AVX512-BF16, AMX or AVX512-FP16" : string.Join(", ", found));
        }
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64 && OperatingSystem.IsLinux())
        {
            var flags = ReadArmFeatureFlags();
            var bf16 = flags.Contains("bf16");
            var fp16 = flags.Contains("asimdhp");
            return (bf16, fp16, $"Arm64{(bf16 ? " BF16" : "")}{(fp16 ? " FP16" : "")}");
        }
        return (false, false, $"{RuntimeInformation.ProcessArchitecture}: native bfloat16/float16 not detected");
    }

    private static HashSet<string> ReadArmFeatureFlags()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("Features", StringComparison.Ordinal));
            return line is null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
