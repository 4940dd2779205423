using System.Diagnostics;
using System.Globalization;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.TestSupport;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Native;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>
/// Throughput harness: tokens/s, GFLOP/s and share of a same-process GEMM peak, load time and RSS for one
/// checkpoint and a set of workloads. Texts are given as token ids (<see cref="BenchModels.Ids"/>) so lengths are exact.
/// </summary>
internal static class Harness
{
    private static readonly string[] DefaultWorkloads = ["8x128", "1x64", "64-varied", "64-short", "concurrent-16", "logits-vs-hidden", "memory"];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private sealed class Settings
    {
        public string? ModelDirectory;
        public string? Preset;
        public string? SynthDirectory;
        public string DType = "auto"; // the library's default
        public int? MaxBatchTokens;
        public double MaxRssGrowthPercent = 5;
        public string? Stored; // stored dtype of a synthesized checkpoint: f32, bf16, f16 (default: f32 for float32 compute, else bf16)
        public bool MemoryFailed;
        public List<string> Workloads = [];
        public bool Smoke;
        public double Seconds = 3;
        public double WarmupSeconds = 5;
        // Resident memory settles only after a few thousand calls (allocator arenas of the forward thread), so the
        // baseline is taken after that and a leak shows as growth from it: measured +0.1% over 15,000 further calls.
        public int MemoryCalls = 8000;
        public int MemoryBaseline = 4000;
        public int? CorpusRecords;
        public bool CorpusMemoryExceeded;
        public double CorpusGrowthLimitMb = 64;
        public double? CorpusPeakLimitMb;
    }

    public static int Run(string[] args)
    {
        var s = new Settings();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--model": s.ModelDirectory = Next(); break;
                case "--synthesize": s.Preset = Next(); break;
                case "--synth-dir": s.SynthDirectory = Next(); break;
                case "--dtype": s.DType = Next(); break;
                case "--stored": s.Stored = Next(); break;
                case "--max-batch-tokens": s.MaxBatchTokens = int.Parse(Next(), Inv); break;
                case "--workload": s.Workloads.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)); break;
                case "--seconds": s.Seconds = double.Parse(Next(), Inv); break;
                case "--warmup": s.WarmupSeconds = double.Parse(Next(), Inv); break;
                case "--memory-calls": s.MemoryCalls = int.Parse(Next(), Inv); break;
                case "--memory-baseline": s.MemoryBaseline = int.Parse(Next(), Inv); break;
                case "--max-rss-growth": s.MaxRssGrowthPercent = double.Parse(Next(), Inv); break;
                case "--smoke": s.Smoke = true; break;
                case "--corpus-records": s.CorpusRecords = int.Parse(Next(), Inv); break;
                case "--corpus-growth-limit-mb": s.CorpusGrowthLimitMb = double.Parse(Next(), Inv); break;
                case "--corpus-peak-limit-mb": s.CorpusPeakLimitMb = double.Parse(Next(), Inv); break;
                case "-h" or "--help": PrintHelp(); return 0;
                default: throw new ArgumentException($"unknown harness argument '{args[i]}'");
            }
        }
        if (s.Smoke)
        {
            s.ModelDirectory ??= s.Preset is null ? BenchModels.FixtureDirectory : null;
            s.Seconds = 1;
            s.WarmupSeconds = 0.3;
            s.MemoryCalls = 4000;
            s.MemoryBaseline = 2000;
            if (s.DType == "auto" && s.ModelDirectory == BenchModels.FixtureDirectory) s.DType = "float32";
        }
        if (s.Workloads.Count == 0) s.Workloads.AddRange(s.Smoke ? [.. DefaultWorkloads, "corpus"] : DefaultWorkloads); // corpus: minutes unless smoke
        if ((s.ModelDirectory is null) == (s.Preset is null))
            throw new ArgumentException("give exactly one of --model DIR or --synthesize PRESET (or --smoke)");

        if (!ComputeDTypeNames.TryParse(s.DType, out var compute))
            throw new ArgumentException($"--dtype must be one of {string.Join(", ", ComputeDTypeNames.Names)}, not '{s.DType}'");
        var stored = s.Stored is { } storedName ? Enum.Parse<SafetensorsDType>(storedName, ignoreCase: true)
            : compute == ComputeDType.Float32 ? SafetensorsDType.F32 : SafetensorsDType.BF16;
        var directory = s.ModelDirectory ?? SynthesizeInChild(s.Preset!, stored, s.SynthDirectory);

        // Load first, so VmHWM after load is the load's own peak.
        var loadWatch = Stopwatch.StartNew();
        using var model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenHidden, MaxTokens = 1 << 20, MaxBatchTokens = s.MaxBatchTokens ?? new EmbeddingOptions().MaxBatchTokens },
            new ModelLoadOptions { DType = compute });
        var loadSeconds = loadWatch.Elapsed.TotalSeconds;
        var (hwmAfterLoad, rssAfterLoad) = Rss();
        var config = model.Config;
        var checkpointBytes = model.Checkpoint.TotalBytes;
        var computeType = model.Decoder.Model.DType;

        Console.WriteLine($"# LastTokenEmbeddings throughput harness");
        Console.WriteLine($"model        : {directory}");
        Console.WriteLine($"config       : {config}");
        Console.WriteLine($"stored dtype : {model.Checkpoint.StoredDType}, compute dtype {computeType} ({model.Checkpoint.ComputeDTypeReason})");
        Console.WriteLine($"threads      : torch.get_num_threads() = {get_num_threads()}, Environment.ProcessorCount = {Environment.ProcessorCount}");
        Console.WriteLine($"MKL fast path: IsActive = {MklFastPath.IsActive} ({MklFastPath.Status})");
        Console.WriteLine($"checkpoint   : {checkpointBytes / 1e9:F3} GB in {model.Checkpoint.Files.Count} file(s)");
        Console.WriteLine($"load         : {loadSeconds:F2} s; VmHWM {hwmAfterLoad / 1e9:F3} GB ({(double)hwmAfterLoad / checkpointBytes:F2}x checkpoint), VmRSS {rssAfterLoad / 1e9:F3} GB ({(double)rssAfterLoad / checkpointBytes:F2}x)");

        var peak = GemmPeak(computeType, s.WarmupSeconds, s.Seconds);
        Console.WriteLine($"GEMM peak    : {peak:F1} GFLOP/s ({computeType}, 2048^3 matmul, best 0.5 s window over {s.Seconds:F0} s, after {s.WarmupSeconds:F1} s warm-up)");

        // Model warm-up: the first workload shape, for the global warm-up time.
        var warmIds = Texts(8, _ => 128, config.VocabSize);
        TimeIt(() => model.EmbedTokenIds(warmIds), 0, s.WarmupSeconds);

        Console.WriteLine();
        Console.WriteLine("| workload | variant | tokens/call | s/call | tokens/s | GFLOP/s | % of GEMM peak |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        var summary = new List<string>();
        foreach (var workload in s.Workloads)
            RunWorkload(workload, model, config, peak, s, summary);

        var (hwm, rss) = Rss();
        Console.WriteLine();
        foreach (var line in summary) Console.WriteLine(line);
        Console.WriteLine($"final        : VmHWM {hwm / 1e9:F3} GB ({(double)hwm / checkpointBytes:F2}x checkpoint), VmRSS {rss / 1e9:F3} GB ({(double)rss / checkpointBytes:F2}x)");
        Console.WriteLine($"final VmRSS  : {RssBreakdown()}");
        if (s.MemoryFailed)
        {
            Console.Error.WriteLine($"harness: FAILED: resident memory grew more than {s.MaxRssGrowthPercent}% between the memory workload's baseline and its last call (a leak).");
            return 3;
        }
        return s.CorpusMemoryExceeded ? 3 : 0;
    }

    private static void PrintHelp() => Console.WriteLine("""
        harness (--model DIR | --synthesize 109m|tinyllama-1.1b|mistral-7b|qwen3-0.6b|qwen3-4b [--synth-dir DIR]) [--dtype auto|float32|bfloat16|float16|stored]
                [--workload 8x128,1x64,8x256,64-varied,64-short,concurrent-16,logits-vs-hidden,memory,article-8x128,corpus] [--seconds S] [--warmup S]
                [--stored f32|bf16|f16 (synthesized checkpoints; default f32 for float32 compute, else bf16)] [--max-batch-tokens N]
                [--memory-calls N] [--max-rss-growth PCT (default 5: exit 3 past it)]
                [--corpus-records N] [--corpus-growth-limit-mb MB] [--corpus-peak-limit-mb MB] [--smoke]
        corpus: lte embed-corpus in a child process over N synthesized JSONL records (default 200,000 for checkpoints under
                100 MB, else 2,000; 2,000 with --smoke); exit code 3 when its VmRSS grows more than the limit (64 MB)
                over the steady state (judged from 20,480 records on) or its VmHWM passes 1024 MB + 1.5 x the checkpoint.
        --smoke: tiny fixture (unless --model/--synthesize), ~1 s per workload; the default workloads plus corpus.
        """);

    private static void RunWorkload(string workload, EmbeddingModel model, DecoderConfig config, double peak, Settings s, List<string> summary)
    {
        var vocab = config.VocabSize;
        switch (workload)
        {
            case var fixedShape when fixedShape.Contains('x', StringComparison.Ordinal) && !fixedShape.StartsWith("article", StringComparison.Ordinal) && !fixedShape.StartsWith("profile", StringComparison.Ordinal):
            {
                var parts = fixedShape.Split('x');
                int count = int.Parse(parts[0], Inv), length = int.Parse(parts[1], Inv);
                var texts = Texts(count, _ => length, vocab);
                Report(workload, "batched, last-token-hidden", texts, false, TimeIt(() => model.EmbedTokenIds(texts), 1, s.Seconds), config, peak);
                break;
            }
            case var profile when profile.StartsWith("profile-", StringComparison.Ordinal):
            {
                // profile-8x128, or profile-varied (the 64-varied texts, batched as the library batches them: longest first).
                int[][] texts;
                if (profile == "profile-varied")
                    texts = Texts(64, i => 32 + (131 * i % 225), vocab).OrderByDescending(t => t.Length).Take(32).ToArray();
                else
                {
                    var parts = profile["profile-".Length..].Split('x');
                    texts = Texts(int.Parse(parts[0], Inv), _ => int.Parse(parts[1], Inv), vocab);
                }
                Profiler.Run(model, texts, 1); // warm
                Profiler.Run(model, texts, s.Smoke ? 1 : 3);
                break;
            }
            case "packed-gemm":
                PackedGemmExperiment.Run(peak);
                break;
            case "gemm-shapes":
            {
                // The decoder's linear shapes at the batch's M (64 tokens: one short text; 1024: 8x128), as F.linear runs them
                // and as mm against a pre-transposed weight: how far small-M GEMMs fall below the 2048^3 peak.
                Console.WriteLine("| linear (M x K x N) | F.linear GFLOP/s | mm(x, W^T contiguous) GFLOP/s | F.linear, 1 thread | % of GEMM peak (F.linear) |");
                Console.WriteLine("|---|---:|---:|---:|---:|");
                long hidden = config.HiddenSize, inter = config.IntermediateSize, kv = config.NumKeyValueHeads * config.HeadDim, q = config.NumAttentionHeads * config.HeadDim;
                var dtype = model.Decoder.Model.DType;
                foreach (var m in new long[] { 16, 64, 1024 })
                {
                    foreach (var (k, n) in new[] { (hidden, q), (hidden, kv), (hidden, inter), (inter, hidden) })
                    {
                        using var inference = inference_mode();
                        using var scope = NewDisposeScope();
                        var x = randn([m, k]).to(dtype);
                        var w = randn([n, k]).to(dtype);
                        var wt = w.t().contiguous();
                        var flops = 2.0 * m * k * n;
                        double linear = 0, mm = 0, single = 0;
                        var threads = get_num_threads();
                        for (var round = 0; round < 3; round++) // interleaved, best of three: a busy machine's noise shows in each
                        {
                            linear = Math.Max(linear, flops / TimeIt(() => { using var y = nn.functional.linear(x, w); }, 3, Math.Min(0.5, s.Seconds)) / 1e9);
                            mm = Math.Max(mm, flops / TimeIt(() => { using var y = x.mm(wt); }, 3, Math.Min(0.5, s.Seconds)) / 1e9);
                            set_num_threads(1);
                            single = Math.Max(single, flops / TimeIt(() => { using var y = nn.functional.linear(x, w); }, 3, Math.Min(0.5, s.Seconds)) / 1e9);
                            set_num_threads(threads);
                        }
                        Console.WriteLine(string.Create(Inv, $"| {m} x {k} x {n} | {linear:F1} | {mm:F1} | {single:F1} | {100 * linear / peak:F1}% |"));
                    }
                }
                break;
            }
            case "article-8x128":
            {
                var texts = Texts(8, _ => 128, vocab);
                using var logits = model.WithOptions(model.GetOptions() is var o ? Set(o, PoolingStrategies.LastTokenLogits) : null!);
                var article = TimeIt(() => ArticlePath.Embed(logits, texts), 1, s.Seconds);
                var library = TimeIt(() => logits.EmbedTokenIds(texts), 1, s.Seconds);
                Report(workload, "article: 1 at a time, all-position logits", texts, true, article, config, peak, allPositionLogits: true);
                Report(workload, "library: batched last-token-logits", texts, true, library, config, peak);
                summary.Add($"article-8x128: library batched last-token-logits is {article / library:F2}x faster than the article's path");
                break;
            }
            case "concurrent-16":
            {
                // 16 callers, each embedding one 8-32-token text per call in a loop, against the same texts one call at a time.
                var texts = Texts(64, i => 8 + (13 * i % 25), vocab);
                var lone = new List<double>();
                var serial = TimeIt(() =>
                {
                    foreach (var t in texts)
                    {
                        var one = Stopwatch.StartNew();
                        model.EmbedTokenIds([t]);
                        lone.Add(one.Elapsed.TotalMilliseconds);
                    }
                }, 1, s.Seconds);
                var passesBefore = model.ForwardPasses;
                var runs = 0;
                var concurrent = TimeIt(() =>
                {
                    // Asynchronous callers, as a server's requests are: a call waiting for its pass holds no thread.
                    var callers = Enumerable.Range(0, 16).Select(async c =>
                    {
                        for (var k = c; k < texts.Length; k += 16)
                            await model.EmbedTokenIdsAsync([texts[k]]).ConfigureAwait(false);
                    }).ToArray();
                    Task.WaitAll(callers);
                    runs++;
                }, 1, s.Seconds);
                var passesPerRun = (double)(model.ForwardPasses - passesBefore) / runs;
                lone.Sort();
                Report(workload, "one call at a time (64 calls)", texts, false, serial, config, peak);
                Report(workload, "16 concurrent callers (64 calls)", texts, false, concurrent, config, peak);
                summary.Add($"concurrent-16: 16 concurrent callers reach {serial / concurrent:F2}x the throughput of one call at a time; lone-call p50 {lone[lone.Count / 2]:F2} ms; {passesPerRun:F1} forward passes per 64 concurrent calls");
                break;
            }
            case "64-varied":
            case "64-short":
            {
                Func<int, int> lengthOf = workload == "64-varied" ? i => 32 + (131 * i % 225) : i => 4 + (7 * i % 13);
                var texts = Texts(64, lengthOf, vocab);
                var single = TimeIt(() => { foreach (var t in texts) model.EmbedTokenIds([t]); }, 1, s.Seconds);
                var batched = TimeIt(() => model.EmbedTokenIds(texts), 1, s.Seconds);
                Report(workload, "one at a time (64 calls)", texts, false, single, config, peak);
                Report(workload, "batched (1 call)", texts, false, batched, config, peak);
                summary.Add($"{workload}: batched is {single / batched:F2}x faster than one at a time (lengths {texts.Min(t => t.Length)}-{texts.Max(t => t.Length)})");
                break;
            }
            case "logits-vs-hidden":
            {
                if (!model.Decoder.HasLanguageModelHead)
                {
                    summary.Add("logits-vs-hidden: skipped (no LM head)");
                    break;
                }
                var texts = Texts(8, _ => 128, vocab);
                using var logits = model.WithOptions(Set(model.GetOptions(), PoolingStrategies.LastTokenLogits));
                // Interleave to share the noise of a busy machine.
                double hiddenTotal = 0, logitsTotal = 0;
                for (var round = 0; round < 3; round++)
                {
                    hiddenTotal += TimeIt(() => model.EmbedTokenIds(texts), round == 0 ? 1 : 0, s.Seconds / 3);
                    logitsTotal += TimeIt(() => logits.EmbedTokenIds(texts), round == 0 ? 1 : 0, s.Seconds / 3);
                }
                Report(workload, "last-token-hidden (8x128)", texts, false, hiddenTotal / 3, config, peak);
                Report(workload, "last-token-logits (8x128)", texts, true, logitsTotal / 3, config, peak);
                summary.Add($"logits-vs-hidden: last-token-logits costs {logitsTotal / hiddenTotal:F3}x last-token-hidden");
                break;
            }
            case "memory":
            {
                var texts = Texts(64, i => 8 + (37 * i % 57), vocab);
                long rssBase = 0;
                var watch = Stopwatch.StartNew();
                for (var call = 1; call <= s.MemoryCalls; call++)
                {
                    model.EmbedTokenIds([texts[call % texts.Length]]);
                    if (call == s.MemoryBaseline)
                    {
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                        rssBase = Rss().Rss;
                    }
                }
                GC.Collect();
                GC.WaitForPendingFinalizers();
                var rssEnd = Rss().Rss;
                var change = 100.0 * (rssEnd - rssBase) / rssBase;
                Console.WriteLine($"| memory | VmRSS after {s.MemoryBaseline} / {s.MemoryCalls} calls (8-64 tokens each) | | | {rssBase / 1e6:F1} MB | {rssEnd / 1e6:F1} MB | {change:+0.00;-0.00}% |");
                summary.Add($"memory: VmRSS {rssBase / 1e6:F1} MB after {s.MemoryBaseline} calls, {rssEnd / 1e6:F1} MB after {s.MemoryCalls} ({change:+0.00;-0.00}%, limit +{s.MaxRssGrowthPercent}%), {watch.Elapsed.TotalSeconds:F1} s");
                if (change > s.MaxRssGrowthPercent)
                    s.MemoryFailed = true;
                break;
            }
            case "corpus":
            {
                // Default size: 200,000 records where that takes minutes (small models), 2,000 otherwise; 2,000 in smoke runs.
                var records = s.CorpusRecords ?? (s.Smoke ? 2_000 : model.Checkpoint.TotalBytes < 100_000_000 ? 200_000 : 2_000);
                var dtype = s.DType;
                if (!CorpusWorkload.Run(model, dtype, new CorpusWorkload.Options(records, s.CorpusGrowthLimitMb, s.CorpusPeakLimitMb), summary))
                    s.CorpusMemoryExceeded = true;
                break;
            }
            default:
                throw new ArgumentException($"unknown workload '{workload}'");
        }
    }

    private static EmbeddingOptions Set(EmbeddingOptions options, IPoolingStrategy pooling)
    {
        options.Pooling = pooling;
        return options;
    }

    private static int[][] Texts(int count, Func<int, int> length, int vocab) =>
        Enumerable.Range(0, count).Select(i => BenchModels.Ids(i, length(i), vocab)).ToArray();

    /// <summary>
    /// FLOPs of one forward: 2 × non-embedding parameters per token, plus 4 × layers × heads × head_dim ×
    /// min(seq, window) per token for attention, plus 2 × vocab × hidden per row that goes through the LM head.
    /// </summary>
    public static double Flops(DecoderConfig config, IEnumerable<int> lengths, bool lastTokenLogits, bool allPositionLogits = false)
    {
        var nonEmbedding = config.ParameterCount(includeLanguageModelHead: false) - (long)config.VocabSize * config.HiddenSize;
        var head = 2.0 * config.VocabSize * config.HiddenSize;
        double total = 0;
        foreach (var length in lengths)
        {
            var span = Math.Min(length, config.SlidingWindow ?? int.MaxValue);
            total += length * (2.0 * nonEmbedding + 4.0 * config.NumHiddenLayers * config.NumAttentionHeads * config.HeadDim * span);
            total += allPositionLogits ? length * head : lastTokenLogits ? head : 0;
        }
        return total;
    }

    private static void Report(string workload, string variant, int[][] texts, bool logits, double secondsPerCall, DecoderConfig config, double peak, bool allPositionLogits = false)
    {
        var tokens = texts.Sum(t => t.Length);
        var gflops = Flops(config, texts.Select(t => t.Length), logits, allPositionLogits) / secondsPerCall / 1e9;
        Console.WriteLine(string.Create(Inv, $"| {workload} | {variant} | {tokens} | {secondsPerCall:F4} | {tokens / secondsPerCall:F0} | {gflops:F1} | {100 * gflops / peak:F1}% |"));
    }

    /// <summary>Runs <paramref name="action"/> at least <paramref name="warmupRuns"/> times, then times it for at least one run and <paramref name="seconds"/>.</summary>
    /// <returns>Mean seconds per run.</returns>
    private static double TimeIt(Action action, int warmupRuns, double seconds)
    {
        for (var i = 0; i < warmupRuns; i++) action();
        var watch = Stopwatch.StartNew();
        var runs = 0;
        do
        {
            action();
            runs++;
        }
        while (watch.Elapsed.TotalSeconds < seconds);
        return watch.Elapsed.TotalSeconds / runs;
    }

    /// <summary>GFLOP/s of a 2048³ matmul in <paramref name="dtype"/>, after warming up for <paramref name="warmupSeconds"/>.</summary>
    public static double GemmPeak(ScalarType dtype, double warmupSeconds, double seconds)
    {
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        const int n = 2048;
        var a = randn([n, n]).to(dtype);
        var b = randn([n, n]).to(dtype);
        Tensor c = empty([1], dtype);
        var warm = Stopwatch.StartNew();
        while (warm.Elapsed.TotalSeconds < warmupSeconds) matmul(a, b, c);
        // Best of several windows: on a shared machine the mean mixes in other processes' load.
        var best = double.MaxValue;
        var total = Stopwatch.StartNew();
        do
            best = Math.Min(best, TimeIt(() => matmul(a, b, c), 0, Math.Min(0.5, seconds)));
        while (total.Elapsed.TotalSeconds < seconds);
        return 2.0 * n * n * n / best / 1e9;
    }

    private static void matmul(Tensor a, Tensor b, Tensor c)
    {
        using var product = a.mm(b);
    }

    /// <summary>VmHWM and VmRSS of this process, in bytes (0 where /proc is unavailable).</summary>
    public static (long Hwm, long Rss) Rss()
    {
        long hwm = 0, rss = 0;
        if (!File.Exists("/proc/self/status")) return (0, 0);
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
        }
        return (hwm, rss);
        static long Kb(string line) => 1024 * long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], Inv);
    }

    /// <summary>VmRSS split into anonymous memory (activations, allocator caches) and file-backed pages (mapped weights).</summary>
    private static string RssBreakdown()
    {
        if (!File.Exists("/proc/self/status")) return "n/a";
        var fields = File.ReadLines("/proc/self/status")
            .Where(line => line.StartsWith("RssAnon:", StringComparison.Ordinal) || line.StartsWith("RssFile:", StringComparison.Ordinal))
            .Select(line => $"{line.Split(':')[0]} {long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], Inv) / 1e6:F3} GB");
        return string.Join(", ", fields);
    }

    /// <summary>Synthesizes (if not cached) in a child process, so this process's peak RSS reflects loading only.</summary>
    private static string SynthesizeInChild(string preset, SafetensorsDType dtype, string? directory)
    {
        CheckpointSynthesizer.Preset(preset); // validate the name here
        directory ??= Path.Combine(BenchModels.CacheRoot, $"{preset}-{dtype.ToString().ToLowerInvariant()}");
        if (File.Exists(Path.Combine(directory, ".complete"))) return directory;
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var start = new ProcessStartInfo(self) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            start.ArgumentList.Add(typeof(Harness).Assembly.Location);
        foreach (var arg in new[] { "synthesize", preset, dtype.ToString(), directory }) start.ArgumentList.Add(arg);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("cannot start the synthesizer");
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"synthesis failed with exit code {child.ExitCode}");
        return directory;
    }

    /// <summary><c>synthesize PRESET F32|BF16|F16 DIR</c>: writes a cached synthetic checkpoint.</summary>
    public static int Synthesize(string[] args)
    {
        if (args.Length != 3) throw new ArgumentException("usage: synthesize PRESET F32|BF16|F16 DIR");
        var dtype = Enum.Parse<SafetensorsDType>(args[1], ignoreCase: true);
        var before = Stopwatch.StartNew();
        BenchModels.EnsureSynthesized(args[0], dtype, args[2]);
        Console.Error.WriteLine($"synthesis process: VmHWM {Rss().Hwm / 1e9:F2} GB, {before.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
