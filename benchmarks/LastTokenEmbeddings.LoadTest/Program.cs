using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.LoadTest;
using LastTokenEmbeddings.Native;
using LastTokenEmbeddings.TestSupport;

// Load test of the HTTP server: requests/s and p50/p99 latency for 1, 16 and 64 concurrent clients, with
// cross-request batching on and off. Loopback only; every loop is bounded in time and count.
// What the server host does: before libtorch loads, so its OpenMP threads do not spin on the cores the
// HTTP threads need (--spinning-openmp keeps OpenMP's default, to measure the difference).
var passiveOpenMP = !args.Contains("--spinning-openmp") && LastTokenEmbeddings.AspNetCore.ServingEnvironment.PreferPassiveOpenMPWaiting();
args = [.. args.Where(a => a != "--spinning-openmp")];
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(LoadTestSettings.Help);
    return 0;
}
LoadTestSettings settings;
try
{
    settings = LoadTestSettings.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine("loadtest: error: " + e.Message);
    return 2;
}
if (!ComputeDTypeNames.TryParse(settings.DType, out var dtype))
{
    Console.Error.WriteLine($"loadtest: error: --dtype must be one of {string.Join(", ", ComputeDTypeNames.Names)}");
    return 2;
}

var directory = settings.ModelDirectory ?? (settings.Preset is { } preset ? Synthesize(preset, dtype) : FixtureDirectory());
using var model = EmbeddingModel.Load(directory, new EmbeddingOptions(), new ModelLoadOptions { DType = dtype });
var inv = CultureInfo.InvariantCulture;
Console.WriteLine("# LastTokenEmbeddings HTTP load test");
Console.WriteLine($"model     : {model.ModelId} ({model.Config.NumHiddenLayers} layers, hidden {model.Config.HiddenSize}), compute {model.Checkpoint.ComputeDType}");
Console.WriteLine($"machine   : {Environment.ProcessorCount} logical CPUs, MKL fast path {(MklFastPath.IsActive ? "on" : "off")}, "
    + $"OMP_WAIT_POLICY={Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "(unset: spinning)"}{(passiveOpenMP ? " (set by the harness)" : "")}; client and server share the CPUs");
Console.WriteLine($"workload  : POST {(settings.Endpoint == "openai" ? "/v1/embeddings" : "/embed")}, {settings.TextsPerRequest} text(s) of {settings.Words} words per request, "
    + $"{settings.Seconds.ToString(inv)} s per run after {settings.WarmupSeconds.ToString(inv)} s warm-up");
Console.WriteLine();
Console.WriteLine("| mode | clients | requests | req/s | p50 ms | p99 ms | failed |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
var failed = 0;
var runs = settings.Batching.Select(batching => (Func<Task<IReadOnlyList<RunResult>>>)(() => LoadRunner.RunModeAsync(model, batching, settings))).ToList();
if (settings.LibraryBaseline)
    runs.Add(() => LoadRunner.RunLibraryAsync(model, settings));
foreach (var modeRuns in runs)
{
    foreach (var run in await modeRuns())
    {
        Console.WriteLine(string.Create(inv,
            $"| {run.Mode} | {run.Clients} | {run.Requests} | {run.RequestsPerSecond:F1} | {run.P50Ms:F1} | {run.P99Ms:F1} | {run.Failures} |"));
        failed += run.Failures + (run.Requests == 0 ? 1 : 0);
    }
}
return failed == 0 ? 0 : 1;

static string FixtureDirectory()
{
    foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "fixtures", "tiny-mistral");
            if (Directory.Exists(candidate))
                return candidate;
        }
    }
    throw new DirectoryNotFoundException("tests/fixtures/tiny-mistral not found above " + AppContext.BaseDirectory);
}

// Synthesized checkpoints are cached where the benchmark harness caches them ($LTE_SYNTH_DIR or $TMPDIR/lte-bench-synth).
static string Synthesize(string preset, ComputeDType dtype)
{
    var stored = dtype == ComputeDType.Float32 ? SafetensorsDType.F32 : SafetensorsDType.BF16;
    var root = Environment.GetEnvironmentVariable("LTE_SYNTH_DIR") is { Length: > 0 } fromEnv ? fromEnv : Path.Combine(Path.GetTempPath(), "lte-bench-synth");
    var directory = Path.Combine(root, $"{preset}-{stored.ToString().ToLowerInvariant()}");
    var marker = Path.Combine(directory, ".complete");
    if (File.Exists(marker))
        return directory;
    Console.Error.WriteLine($"synthesizing {preset} {stored} into {directory} ...");
    var tokenizer = Path.Combine(Path.GetDirectoryName(FixtureDirectory())!, preset.StartsWith("qwen3", StringComparison.OrdinalIgnoreCase) ? "tiny-qwen3" : "tiny-mistral");
    var bytes = CheckpointSynthesizer.Write(directory, CheckpointSynthesizer.Preset(preset), stored, tokenizerDirectory: tokenizer);
    File.WriteAllText(marker, bytes.ToString(CultureInfo.InvariantCulture));
    return directory;
}
