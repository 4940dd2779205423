using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Native;

/// <summary>
/// oneMKL's packed float32 GEMM (<c>cblas_sgemm_pack</c> / <c>cblas_sgemm_compute</c>, exported by the
/// <c>libtorch_cpu.so</c> that links MKL statically). <c>F.linear</c> hands MKL the weight unpacked, and MKL re-packs it
/// into its kernel layout on every call: with few rows (one short text) that copy costs as much as the arithmetic.
/// Packing each projection weight once at load removes it: 64 × 1024 × 3584 runs at about 1.5 × the F.linear rate on
/// Zen 5, the same at 1,024 rows (docs/benchmarks.md, <c>packed-gemm</c>). Linux x64 only; elsewhere
/// <see cref="IsAvailable"/> is false and projections use <c>F.linear</c>.
/// </summary>
internal static unsafe class PackedSgemm
{
    private const int RowMajor = 101, NoTrans = 111, Trans = 112, Packed = 151, BMatrix = 162;

    // The row count the packed layout is prepared for: MKL accepts any row count with it.
    private const int PackRows = 256;

    private static readonly Lazy<Api?> Resolved = new(Resolve);

    /// <summary>Whether projections may be packed (default: true unless <c>LTE_PACKED_GEMM=0</c>); read at load.</summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("LTE_PACKED_GEMM") != "0";

    /// <summary>Whether loading packs float32 projection weights in this process.</summary>
    public static bool IsAvailable => Enabled && Resolved.Value is not null;

    /// <summary>Packs a float32 [out, in] weight (any dtype is converted first) for <see cref="Multiply"/>.</summary>
    /// <exception cref="InvalidOperationException">Packing is unavailable.</exception>
    public static PackedWeight Pack(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var api = Resolved.Value ?? throw new InvalidOperationException("MKL's packed GEMM is not available in this process.");
        if (weight.dim() != 2 || weight.device_type != TorchSharp.DeviceType.CPU)
            throw new ArgumentException($"expected a 2-d CPU weight, got [{string.Join(", ", weight.shape)}] on {weight.device}.", nameof(weight));
        int outFeatures = checked((int)weight.shape[0]), inFeatures = checked((int)weight.shape[1]);
        using var source = weight.dtype == ScalarType.Float32 && weight.is_contiguous() ? weight.alias() : weight.to(ScalarType.Float32).contiguous();
        var size = api.GetSize(BMatrix, PackRows, outFeatures, inFeatures);
        var packed = new PackedWeight(outFeatures, inFeatures, size);
        fixed (byte* data = source.bytes)
            api.Pack(RowMajor, BMatrix, Trans, PackRows, outFeatures, inFeatures, 1f, (float*)data, inFeatures, (float*)packed.DangerousGetHandle());
        return packed;
    }

    /// <summary><c>input · weightᵀ</c> for a float32 CPU <paramref name="input"/> [..., in]: [..., out].</summary>
    public static Tensor Multiply(Tensor input, PackedWeight weight)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        var api = Resolved.Value ?? throw new InvalidOperationException("MKL's packed GEMM is not available in this process.");
        if (input.dtype != ScalarType.Float32 || input.device_type != TorchSharp.DeviceType.CPU || input.shape[^1] != weight.InFeatures)
            throw new ArgumentException($"expected float32 CPU input [..., {weight.InFeatures}], got {input.dtype} [{string.Join(", ", input.shape)}] on {input.device}.", nameof(input));
        long[] outputShape = [.. input.shape[..^1], weight.OutFeatures];
        var output = empty(outputShape, ScalarType.Float32);
        var rows = input.numel() / weight.InFeatures;
        if (rows == 0)
            return output;
        using var flat = input.is_contiguous() ? input.alias() : input.contiguous();
        var added = false;
        try
        {
            weight.DangerousAddRef(ref added); // a concurrent Dispose must not free the buffer mid-call
            fixed (byte* a = flat.bytes)
            fixed (byte* c = output.bytes)
                api.Compute(RowMajor, NoTrans, Packed, checked((int)rows), weight.OutFeatures, weight.InFeatures,
                    (float*)a, weight.InFeatures, (float*)weight.DangerousGetHandle(), weight.InFeatures, 0f, (float*)c, weight.OutFeatures);
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            if (added)
                weight.DangerousRelease();
        }
        return output;
    }

    private sealed class Api
    {
        public required delegate* unmanaged<int, int, int, int, nuint> GetSize { get; init; }
        public required delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, void> Pack { get; init; }
        public required delegate* unmanaged<int, int, int, int, int, int, float*, int, float*, int, float, float*, int, void> Compute { get; init; }
    }

    private static Api? Resolve()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return null;
        using (ones(1)) { } // libtorch is loaded by TorchSharp's first use
        var path = LoadedLibraryPath("libtorch_cpu.so");
        if (path is null || !NativeLibrary.TryLoad(path, out var library))
            return null;
        if (!NativeLibrary.TryGetExport(library, "cblas_sgemm_pack_get_size", out var getSize)
            || !NativeLibrary.TryGetExport(library, "cblas_sgemm_pack", out var pack)
            || !NativeLibrary.TryGetExport(library, "cblas_sgemm_compute", out var compute))
            return null;
        return new Api
        {
            GetSize = (delegate* unmanaged<int, int, int, int, nuint>)getSize,
            Pack = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, void>)pack,
            Compute = (delegate* unmanaged<int, int, int, int, int, int, float*, int, float*, int, float, float*, int, void>)compute,
        };
    }

    /// <summary>The path of an already loaded shared library, from /proc/self/maps.</summary>
    private static string? LoadedLibraryPath(string fileName)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.EndsWith("/" + fileName, StringComparison.Ordinal))
                    return line[slash..];
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}

/// <summary>A weight in MKL's packed layout (native memory, 64-byte aligned), owned by one projection.</summary>
internal sealed unsafe class PackedWeight : SafeHandle
{
    internal PackedWeight(int outFeatures, int inFeatures, nuint bytes) : base(IntPtr.Zero, ownsHandle: true)
    {
        OutFeatures = outFeatures;
        InFeatures = inFeatures;
        Bytes = (long)bytes;
        SetHandle((IntPtr)NativeMemory.AlignedAlloc(bytes, 64));
    }

    public int OutFeatures { get; }

    public int InFeatures { get; }

    /// <summary>Bytes reserved (MKL pads; only the pages it writes become resident).</summary>
    public long Bytes { get; }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
