using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Embeddings;

namespace LastTokenEmbeddings.Benchmarks;

/// <summary>
/// The <c>corpus</c> harness workload: <c>lte embed-corpus</c> in a child process over a synthesized JSONL corpus,
/// reporting records/s and tokens/s, and checking that the child's memory stays bounded: its VmRSS must not grow
/// between the first and the second half of the embedding phase by more than a limit, and its peak (VmHWM) must stay
/// under another. Past either limit the harness exits with code 3.
/// </summary>
internal static class CorpusWorkload
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly string[] Words =
        ["the", "model", "embeds", "every", "passage", "of", "a", "large", "corpus", "into", "one", "vector", "per", "record", "and",
         "writes", "them", "in", "numbered", "chunks", "that", "resume", "after", "any", "stop", "shard", "across", "workers", "café", "東京"];

    /// <summary>Settings of the workload (command-line options of the harness).</summary>
    /// <param name="Records">Records to embed.</param>
    /// <param name="GrowthLimitMb">Largest VmRSS growth allowed between the halves of the embedding phase.</param>
    /// <param name="PeakLimitMb">Largest VmHWM allowed; <see langword="null"/>: 1024 MB plus 1.5 × the checkpoint.</param>
    public sealed record Options(int Records, double GrowthLimitMb, double? PeakLimitMb);

    /// <returns>Whether the memory limits held.</returns>
    public static bool Run(EmbeddingModel model, string dtype, Options options, List<string> summary)
    {
        var work = Path.Combine(Path.GetTempPath(), $"lte-bench-corpus-{Environment.ProcessId}");
        Directory.CreateDirectory(work);
        try
        {
            var input = Path.Combine(work, "corpus.jsonl");
            var watch = Stopwatch.StartNew();
            var bytes = WriteCorpus(input, options.Records);
            Console.Error.WriteLine($"corpus: wrote {options.Records:N0} records ({bytes / 1e6:F1} MB) in {watch.Elapsed.TotalSeconds:F1} s");
            var output = Path.Combine(work, "out");
            var chunk = Math.Max(100, options.Records / 20); // ~20 commits, so the second half of the run is steady state
            var (json, samples, exitCode, stderr) = RunChild(
                ["embed-corpus", "--model", model.Checkpoint.Directory, "--input", input, "--output", output, "--dtype", dtype,
                 "--chunk-records", chunk.ToString(Inv), "--format", "json", "--progress-interval", "3600"], output);
            if (exitCode != 0)
                throw new InvalidOperationException($"lte embed-corpus exited with {exitCode}: {stderr}");

            using var document = JsonDocument.Parse(json);
            var result = document.RootElement;
            var records = result.GetProperty("recordsThisRun").GetInt64();
            var tokens = result.GetProperty("tokensThisRun").GetInt64();
            var seconds = result.GetProperty("seconds").GetDouble();
            // Steady state: from the first committed chunk on; compare the two halves of it.
            var steady = samples.Where(s => s.Committed).ToList();
            var half = steady.Count / 2;
            double firstHalf = steady.Take(half).Select(s => s.RssBytes).DefaultIfEmpty(0).Max() / 1e6;
            double secondHalf = steady.Skip(half).Select(s => s.RssBytes).DefaultIfEmpty(0).Max() / 1e6;
            var growth = secondHalf - firstHalf;
            var peak = samples.Select(s => s.HwmBytes).DefaultIfEmpty(0).Max() / 1e6;
            var peakLimit = options.PeakLimitMb ?? 1024 + 1.5 * model.Checkpoint.TotalBytes / 1e6;
            // Growth is judged on runs of at least 20 streaming windows (the default 200,000-record run has ~200): a shorter
            // run (smoke, large models) is still warming up libtorch's allocator for new batch shapes, and is judged by
            // its peak alone.
            var judged = options.Records >= 20 * EmbeddingStreamOptions.Default.WindowSize && steady.Count >= 8;
            var held = (!judged || growth <= options.GrowthLimitMb) && peak <= peakLimit;

            Console.WriteLine(string.Create(Inv,
                $"| corpus | embed-corpus, {records:N0} JSONL records → Parquet ({tokens / Math.Max(1, records):F0} tokens each) | {tokens} | {seconds:F2} | {tokens / seconds:F0} | | {records / seconds:F0} records/s |"));

            // The same model in this process, one EmbedAsync call over the first texts: what the model alone sustains.
            var sample = Enumerable.Range(0, Math.Clamp(options.Records / 4, Math.Min(options.Records, 500), 5_000)).Select(Text).ToArray();
            model.Embed(sample.Take(64).ToArray()); // warm
            var library = Stopwatch.StartNew();
            var embedded = model.Embed(sample);
            var librarySeconds = library.Elapsed.TotalSeconds;
            var libraryTokens = embedded.Sum(e => (long)e.TokenCount);
            Console.WriteLine(string.Create(Inv,
                $"| corpus | library: one EmbedAsync call over the first {sample.Length:N0} texts | {libraryTokens} | {librarySeconds:F2} | {libraryTokens / librarySeconds:F0} | | {sample.Length / librarySeconds:F0} records/s |"));
            summary.Add(string.Create(Inv,
                $"corpus: {records:N0} records in {seconds:F1} s = {records / seconds:F0} records/s ({tokens / seconds:F0} tokens/s; one library call: {libraryTokens / librarySeconds:F0} tokens/s), child VmRSS {firstHalf:F0} MB → {secondHalf:F0} MB " +
                $"over the steady state ({growth:+0;-0} MB, limit {options.GrowthLimitMb:F0}{(judged ? "" : ": too short to judge growth")}), VmHWM {peak:F0} MB (limit {peakLimit:F0}), {steady.Count} samples: {(held ? "bounded" : "FAIL")}"));
            return held;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Deterministic passage <paramref name="i"/>: 8 to 120 words.</summary>
    private static string Text(int i)
    {
        var text = new StringBuilder();
        var words = 8 + (int)((i * 2654435761L) % 113);
        for (var w = 0; w < words; w++)
            text.Append(w == 0 ? "" : " ").Append(Words[(i * 7 + w * 13 + w * w) % Words.Length]);
        return text.ToString();
    }

    private static long WriteCorpus(string path, int records)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new Utf8JsonWriter(stream);
        for (var i = 0; i < records; i++)
        {
            writer.WriteStartObject();
            writer.WriteString("id", "r" + i.ToString(Inv));
            writer.WriteString("text", Text(i));
            writer.WriteEndObject();
            writer.Flush();
            stream.WriteByte((byte)'\n');
            writer.Reset();
        }
        return stream.Length;
    }

    private sealed record Sample(double Seconds, long RssBytes, long HwmBytes, bool Committed);

    /// <summary>Runs <c>lte</c> (built next to the harness), sampling its memory every 25 ms.</summary>
    private static (string Stdout, List<Sample> Samples, int ExitCode, string Stderr) RunChild(string[] args, string output)
    {
        var lte = Path.Combine(AppContext.BaseDirectory, "lte.dll");
        var host = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var start = new ProcessStartInfo(host) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(lte);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start) ?? throw new InvalidOperationException("cannot start lte");
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        var samples = new List<Sample>();
        var clock = Stopwatch.StartNew();
        var manifest = Path.Combine(output, "_manifest.json");
        while (!child.WaitForExit(25))
        {
            var (rss, hwm) = Memory(child.Id);
            if (rss > 0)
                samples.Add(new Sample(clock.Elapsed.TotalSeconds, rss, hwm, File.Exists(manifest)));
        }
        return (stdout.Result, samples, child.ExitCode, stderr.Result);
    }

    /// <summary>VmRSS and VmHWM of a process, in bytes (0 when it is gone or /proc is unavailable).</summary>
    private static (long Rss, long Hwm) Memory(int pid)
    {
        long rss = 0, hwm = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) hwm = Kb(line);
            }
        }
        catch (IOException)
        {
        }
        return (rss, hwm);
        static long Kb(string line) => 1024 * long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], Inv);
    }
}
