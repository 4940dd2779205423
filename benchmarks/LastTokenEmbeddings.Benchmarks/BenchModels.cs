using System.Diagnostics;
using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.TestSupport;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>Where benchmark checkpoints come from: the vendored fixture, or synthesized presets cached on disk.</summary>
internal static class BenchModels
{
    /// <summary>Smoke mode (CI): tiny fixture only, few params. Set by <c>--smoke</c>, <c>--job Dry</c> or <c>LTE_BENCH_SMOKE=1</c>.</summary>
    public static bool Smoke => Environment.GetEnvironmentVariable("LTE_BENCH_SMOKE") == "1";

    /// <summary>Benchmark model keys: "tiny" (fixture, float32), "109m-f32" and "109m-bf16" (synthesized, computed as stored).</summary>
    public static IEnumerable<string> Keys => Smoke ? ["tiny"] : ["tiny", "109m-f32", "109m-bf16"];

    /// <summary>tests/fixtures/tiny-mistral, found above the executable (or <c>LTE_FIXTURE</c>).</summary>
    public static string FixtureDirectory =>
        Environment.GetEnvironmentVariable("LTE_FIXTURE") is { Length: > 0 } fromEnv ? fromEnv : Fixture("tiny-mistral");

    /// <summary>A folder of tests/fixtures, found above the executable or the working directory.</summary>
    public static string Fixture(string name)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fixtures", name);
                if (Directory.Exists(candidate))
                    return candidate;
            }
        }
        throw new DirectoryNotFoundException($"tests/fixtures/{name} not found above {AppContext.BaseDirectory}; set LTE_FIXTURE.");
    }

    /// <summary>The fixture whose tokenizer files are copied into a synthesized preset: Qwen3's for Qwen3 shapes, else Mistral's.</summary>
    public static string TokenizerDirectory(string preset) =>
        preset.StartsWith("qwen3", StringComparison.OrdinalIgnoreCase) ? Fixture("tiny-qwen3") : FixtureDirectory;

    /// <summary>Root of the synthesized-checkpoint cache: <c>LTE_SYNTH_DIR</c>, else the temp dir.</summary>
    public static string CacheRoot =>
        Environment.GetEnvironmentVariable("LTE_SYNTH_DIR") is { Length: > 0 } root ? root : Path.Combine(Path.GetTempPath(), "lte-bench-synth");

    /// <summary>Directory and load options for a benchmark model key.</summary>
    public static (string Directory, ModelLoadOptions Options) Resolve(string key) => key switch
    {
        "tiny" => (FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float32 }),
        "109m-f32" => (EnsureSynthesized("109m", SafetensorsDType.F32, null), new ModelLoadOptions { DType = ComputeDType.AsStored }),
        "109m-bf16" => (EnsureSynthesized("109m", SafetensorsDType.BF16, null), new ModelLoadOptions { DType = ComputeDType.AsStored }),
        _ => throw new ArgumentException($"unknown model key '{key}'", nameof(key)),
    };

    /// <summary>
    /// The directory of a synthesized preset, writing it first if it is not complete. A <c>.complete</c> marker
    /// is written last, so an interrupted synthesis is redone.
    /// </summary>
    public static string EnsureSynthesized(string preset, SafetensorsDType dtype, string? directory)
    {
        directory ??= Path.Combine(CacheRoot, $"{preset}-{dtype.ToString().ToLowerInvariant()}");
        var marker = Path.Combine(directory, ".complete");
        if (File.Exists(marker))
            return directory;
        var watch = Stopwatch.StartNew();
        Console.Error.WriteLine($"synthesizing {preset} {dtype} into {directory} ...");
        var bytes = CheckpointSynthesizer.Write(directory, CheckpointSynthesizer.Preset(preset), dtype, tokenizerDirectory: TokenizerDirectory(preset));
        File.WriteAllText(marker, bytes.ToString(CultureInfo.InvariantCulture));
        Console.Error.WriteLine($"synthesized {bytes / 1e9:F2} GB in {watch.Elapsed.TotalSeconds:F1} s");
        return directory;
    }

    /// <summary>
    /// Deterministic token ids of exactly <paramref name="length"/> tokens: BOS then ids spread over the vocabulary
    /// (avoiding the special ids 0–2). Using ids directly gives exact sequence lengths independent of the tokenizer.
    /// </summary>
    public static int[] Ids(int text, int length, int vocab = 32000)
    {
        var ids = new int[length];
        ids[0] = 1;
        for (var t = 1; t < length; t++)
            ids[t] = 3 + (int)(((long)text * 7919 + (long)t * 104729) % (vocab - 3));
        return ids;
    }
}
