using System.Diagnostics;
using LastTokenEmbeddings.Native;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>
/// The <c>packed-gemm</c> workload: the library's packed float32 projection (<see cref="PackedSgemm"/>) against
/// <c>F.linear</c> on the 109M shape's projection sizes, best of three interleaved rounds, plus the resident memory a
/// 7B-sized packed weight costs.
/// </summary>
internal static class PackedGemmExperiment
{
    public static void Run(double peak)
    {
        if (!PackedSgemm.IsAvailable)
        {
            Console.WriteLine("| packed GEMM unavailable in this process (not Linux x64, or LTE_PACKED_GEMM=0) |");
            return;
        }
        {
            using var big = randn([14336, 4096]);
            var before = Harness.Rss().Rss;
            using var bigPacked = PackedSgemm.Pack(big);
            Console.WriteLine($"| packing 14336x4096 ({4.0 * big.numel() / 1e6:F1} MB): VmRSS +{(Harness.Rss().Rss - before) / 1e6:F1} MB for a {bigPacked.Bytes / 1e6:F1} MB buffer |");
        }
        Console.WriteLine("| m x k x n | F.linear GFLOP/s | packed GFLOP/s | max abs diff |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (k, n) in new[] { (1024, 1024), (1024, 256), (1024, 3584), (3584, 1024) })
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();
            var weight = randn([n, k]);
            using var packed = PackedSgemm.Pack(weight);
            foreach (var m in new[] { 16, 64, 1024 })
            {
                var x = randn([m, k]);
                var diff = (PackedSgemm.Multiply(x, packed) - nn.functional.linear(x, weight)).abs().max().item<float>();
                double Rate(Func<Tensor> multiply)
                {
                    for (var i = 0; i < 3; i++)
                        multiply().Dispose();
                    var sw = Stopwatch.StartNew();
                    var runs = 0;
                    for (; sw.Elapsed.TotalSeconds < 0.5; runs++)
                        multiply().Dispose();
                    return 2.0 * m * k * n * runs / sw.Elapsed.TotalSeconds / 1e9;
                }
                double linear = 0, packedRate = 0;
                for (var round = 0; round < 3; round++)
                {
                    linear = Math.Max(linear, Rate(() => nn.functional.linear(x, weight)));
                    packedRate = Math.Max(packedRate, Rate(() => PackedSgemm.Multiply(x, packed)));
                }
                Console.WriteLine($"| {m} x {k} x {n} | {linear:F1} | {packedRate:F1} ({100 * packedRate / peak:F0}% of peak) | {diff:G3} |");
            }
        }
    }
}
