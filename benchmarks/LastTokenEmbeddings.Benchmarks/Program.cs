using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LastTokenEmbeddings.Benchmarks;

// harness ...            throughput harness (see Harness.cs)
// synthesize P D DIR     write a cached synthetic checkpoint
// anything else          BenchmarkDotNet; `--smoke` (or `--job Dry`, or LTE_BENCH_SMOKE=1) restricts params to the tiny fixture.
if (args.Length > 0 && args[0] == "harness")
    return Harness.Run(args[1..]);
if (args.Length > 0 && args[0] == "synthesize")
    return Harness.Synthesize(args[1..]);

var smoke = args.Contains("--smoke");
for (var i = 0; i + 1 < args.Length; i++)
{
    if (args[i] is "--job" or "-j" && args[i + 1].Equals("Dry", StringComparison.OrdinalIgnoreCase))
        smoke = true;
}
args = args.Where(a => a != "--smoke").ToArray();
IConfig? config = null;
if (smoke)
{
    // Params sources read this (also in child processes, which inherit the environment).
    Environment.SetEnvironmentVariable("LTE_BENCH_SMOKE", "1");
    // In-process: no per-benchmark project build, so the smoke run stays within seconds.
    config = DefaultConfig.Instance.AddJob(Job.Dry.WithToolchain(InProcessEmitToolchain.Instance).AsDefault())
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
}
var summaries = BenchmarkSwitcher.FromAssembly(typeof(BenchModels).Assembly).Run(args, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
