using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Benchmarks;

internal static class PackedGemmExperiment
{
    private delegate nuint GetSize(int identifier, int m, int n, int k);
    private delegate void Pack(int layout, int identifier, int trans, int m, int n, int k, float alpha, IntPtr src, int ld, IntPtr dest);
    private delegate void Compute(int layout, int transa, int transb, int m, int n, int k, IntPtr a, int lda, IntPtr b, int ldb, float beta, IntPtr c, int ldc);
    private delegate IntPtr Data(IntPtr tensor);

    private static IntPtr Lib(string name) => NativeLibrary.Load(File.ReadLines("/proc/self/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length >= 6 && p[5].EndsWith(name, StringComparison.Ordinal)).Select(p => p[5]).First());

    public static unsafe void Run(double peak)
    {
        using var warm = ones(1);
        var torchCpu = Lib("libtorch_cpu.so");
        var sharp = Lib("libLibTorchSharp.so");
        var getSize = Marshal.GetDelegateForFunctionPointer<GetSize>(NativeLibrary.GetExport(torchCpu, "cblas_sgemm_pack_get_size"));
        var pack = Marshal.GetDelegateForFunctionPointer<Pack>(NativeLibrary.GetExport(torchCpu, "cblas_sgemm_pack"));
        var compute = Marshal.GetDelegateForFunctionPointer<Compute>(NativeLibrary.GetExport(torchCpu, "cblas_sgemm_compute"));
        var data = Marshal.GetDelegateForFunctionPointer<Data>(NativeLibrary.GetExport(sharp, "THSTensor_data"));
        const int RowMajor = 101, NoTrans = 111, Trans = 112, BMatrix = 162, Packed = 151;
        foreach (var (k, n) in new[] { (1024, 1024), (1024, 256), (1024, 3584), (3584, 1024), (4096, 4096), (4096, 14336) })
            Console.WriteLine($"| sizes {k}x{n}: " + string.Join(", ", new[] { 1, 16, 64, 256, 1024, 4096 }.Select(m => $"m={m}: B {getSize(BMatrix, m, n, k) / 1e6:F1} MB, A {getSize(161, n, m, k) / 1e6:F1} MB")) + $" (plain {4.0 * n * k / 1e6:F1})");
        {
            using var big = randn([14336, 4096]);
            var before = Harness.Rss().Rss;
            var bigSize = getSize(BMatrix, 64, 14336, 4096);
            var bigPacked = NativeMemory.AlignedAlloc(bigSize, 64);
            pack(RowMajor, BMatrix, Trans, 64, 14336, 4096, 1f, data(big.Handle), 4096, (IntPtr)bigPacked);
            Console.WriteLine($"| packing 14336x4096 (234.9 MB): VmRSS +{(Harness.Rss().Rss - before) / 1e6:F1} MB for a {bigSize / 1e6:F1} MB buffer");
            NativeMemory.AlignedFree(bigPacked);
        }
        foreach (var (k, n) in new[] { (1024, 1024), (1024, 256), (1024, 3584), (3584, 1024) })
        {
            using var inference = inference_mode();
            using var scope = NewDisposeScope();
            var w = randn([n, k]);
            var size = getSize(BMatrix, 64, n, k);
            var packed = NativeMemory.AlignedAlloc(size, 64);
            unsafe { pack(RowMajor, BMatrix, Trans, 64, n, k, 1f, data(w.Handle), k, (IntPtr)packed); }
            foreach (var m in new[] { 16, 64, 1024 })
            {
                var x = randn([m, k]);
                var y = empty([m, n]);
                unsafe
                {
                    void Packed1() => compute(RowMajor, NoTrans, Packed, m, n, k, data(x.Handle), k, (IntPtr)packed, k, 0f, data(y.Handle), n);
                    Packed1();
                    using var reference = nn.functional.linear(x, w);
                    var diff = (y - reference).abs().max().item<float>();
                    double Rate(Action a) { for (var i = 0; i < 3; i++) a(); var sw = Stopwatch.StartNew(); var r = 0; while (sw.Elapsed.TotalSeconds < 0.5) { a(); r++; } return 2.0 * m * k * n * r / sw.Elapsed.TotalSeconds / 1e9; }
                    double lin = 0, pk = 0;
                    for (var round = 0; round < 3; round++)
                    {
                        lin = Math.Max(lin, Rate(() => { using var o = nn.functional.linear(x, w); }));
                        pk = Math.Max(pk, Rate(Packed1));
                    }
                    Console.WriteLine($"| {m} x {k} x {n} | linear {lin:F1} | packed {pk:F1} ({100 * pk / peak:F0}% of peak) | max |diff| {diff:G3} | packed bytes {size / 1e6:F1} MB vs {4.0 * n * k / 1e6:F1} |");
                }
            }
            unsafe { NativeMemory.AlignedFree(packed); }
        }
    }
}
