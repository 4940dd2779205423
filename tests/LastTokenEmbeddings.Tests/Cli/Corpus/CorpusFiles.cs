using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace LastTokenEmbeddings.Tests.Cli.Corpus;

/// <summary>One output record of embed-corpus, read back.</summary>
public sealed record CorpusRow(string Id, float[] Vector, int Tokens, bool Truncated, string? Fields);

/// <summary>Corpus inputs for the tests, reading embed-corpus outputs back, and running <c>lte</c> as a child process.</summary>
public static class CorpusFiles
{
    private static readonly string[] Words =
        ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "embedding", "model", "corpus", "shard", "resume",
         "vector", "token", "Paris", "GPU", "café", "naïve", "東京", "🙂", "42", "x-ray"];

    /// <summary>A fresh directory under the temp folder (deleted by <see cref="DeleteDirectory"/>).</summary>
    public static string NewDirectory(string name)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lte-corpus-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDirectory(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
    }

    /// <summary>Deterministic short texts (1-24 words) for record <paramref name="i"/>.</summary>
    public static string Text(int i)
    {
        var words = 1 + (i * 7 + 3) % 24;
        var builder = new StringBuilder();
        for (var w = 0; w < words; w++)
        {
            if (w > 0) builder.Append(' ');
            builder.Append(Words[(i * 31 + w * 17 + w * w) % Words.Length]);
        }
        return builder.ToString();
    }

    public static string Id(int i) => "doc-" + i.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes <paramref name="count"/> JSONL records <c>{"id","text","n","tag"}</c>.</summary>
    public static string WriteJsonLines(string directory, int count, string name = "corpus.jsonl")
    {
        var path = Path.Combine(directory, name);
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false));
        for (var i = 0; i < count; i++)
            writer.Write(JsonSerializer.Serialize(new { id = Id(i), text = Text(i), n = i, tag = i % 3 == 0 ? "a" : "b" }) + "\n");
        return path;
    }

    /// <summary>Every record of an output directory: its Parquet or JSONL chunk files (not the hidden or _ files).</summary>
    public static async Task<List<CorpusRow>> ReadOutputAsync(string directory)
    {
        var rows = new List<CorpusRow>();
        foreach (var file in ChunkFiles(directory))
        {
            if (file.EndsWith(".parquet", StringComparison.Ordinal))
                rows.AddRange(await ReadParquetAsync(file));
            else
                rows.AddRange(ReadJsonLines(file));
        }
        return rows;
    }

    public static IEnumerable<string> ChunkFiles(string directory) =>
        Directory.EnumerateFiles(directory)
            .Where(f => !Path.GetFileName(f).StartsWith('_') && !Path.GetFileName(f).StartsWith('.'))
            .Where(f => f.EndsWith(".parquet", StringComparison.Ordinal) || f.EndsWith(".jsonl", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    public static async Task<List<CorpusRow>> ReadParquetAsync(string file)
    {
        await using var reader = await ParquetReader.CreateAsync(file);
        var fields = reader.Schema.GetDataFields();
        var id = fields.Single(f => f.Name == "id");
        var element = fields.Single(f => f.Path.ToString() == "embedding/list/element");
        var tokens = fields.Single(f => f.Name == "tokens");
        var truncated = fields.Single(f => f.Name == "truncated");
        var kept = fields.SingleOrDefault(f => f.Name == "fields");
        var dimension = int.Parse(reader.CustomMetadata["lte.dimension"], CultureInfo.InvariantCulture);
        var rows = new List<CorpusRow>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = (int)group.RowCount;
            var ids = new string?[count];
            await group.ReadAsync(id, ids.AsMemory(), null);
            var values = new float[count * dimension];
            var definition = new int[values.Length];
            var repetition = new int[values.Length];
            await group.ReadRawAsync<float>(element, values.AsMemory(), definition.AsMemory(), repetition.AsMemory(), CancellationToken.None);
            for (var v = 0; v < values.Length; v++)
                Assert.That(repetition[v], Is.EqualTo(v % dimension == 0 ? 0 : 1), $"{file}: every list holds {dimension} values");
            // Required columns are read into plain buffers (see ColumnValues: nullable buffers can get stale nulls).
            var tokenCounts = new int[count];
            await group.ReadAsync<int>(tokens, tokenCounts.AsMemory(), null);
            var truncatedFlags = new bool[count];
            await group.ReadAsync<bool>(truncated, truncatedFlags.AsMemory(), null);
            var keptValues = new string?[count];
            if (kept is not null)
                await group.ReadAsync(kept, keptValues.AsMemory(), null);
            for (var r = 0; r < count; r++)
                rows.Add(new CorpusRow(ids[r]!, values.AsSpan(r * dimension, dimension).ToArray(), tokenCounts[r], truncatedFlags[r], keptValues[r]));
        }
        return rows;
    }

    public static IEnumerable<CorpusRow> ReadJsonLines(string file)
    {
        foreach (var line in File.ReadLines(file))
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            yield return new CorpusRow(
                root.GetProperty("id").GetString()!,
                [.. root.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle())],
                root.GetProperty("tokens").GetInt32(),
                root.GetProperty("truncated").GetBoolean(),
                root.TryGetProperty("fields", out var fields) ? fields.GetRawText() : null);
        }
    }

    /// <summary>Asserts two outputs hold the same records (each id once), vectors within <paramref name="tolerance"/>.</summary>
    public static void AssertSameRecords(IReadOnlyList<CorpusRow> actual, IReadOnlyList<CorpusRow> expected, double tolerance = 1e-5, string what = "")
    {
        Assert.That(actual.Select(r => r.Id).Distinct().Count(), Is.EqualTo(actual.Count), $"{what}: every record exactly once");
        Assert.That(actual.Select(r => r.Id).Order(StringComparer.Ordinal), Is.EqualTo(expected.Select(r => r.Id).Order(StringComparer.Ordinal)), $"{what}: the same records");
        var byId = expected.ToDictionary(r => r.Id);
        var worst = 0.0;
        foreach (var row in actual)
        {
            var other = byId[row.Id];
            Assert.That(row.Tokens, Is.EqualTo(other.Tokens), $"{what}: tokens of {row.Id}");
            Assert.That(row.Truncated, Is.EqualTo(other.Truncated), $"{what}: truncated flag of {row.Id}");
            Assert.That(row.Fields, Is.EqualTo(other.Fields), $"{what}: kept fields of {row.Id}");
            Assert.That(row.Vector, Has.Length.EqualTo(other.Vector.Length), $"{what}: dimension of {row.Id}");
            for (var d = 0; d < row.Vector.Length; d++)
                worst = Math.Max(worst, Math.Abs(row.Vector[d] - other.Vector[d]));
        }
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance), $"{what}: largest vector difference");
    }

    /// <summary>The <c>lte</c> built next to the tests, started as a child process (<c>dotnet lte.dll ...</c>).</summary>
    public static Process StartLte(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var lte = Path.Combine(AppContext.BaseDirectory, "lte.dll");
        Assert.That(File.Exists(lte), Is.True, $"{lte} is built with the tests");
        var host = Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(lte);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        return Process.Start(start) ?? throw new InvalidOperationException("cannot start lte");
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="patience"/> (a guard, not a timing decision).</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan patience, string what, Process? child = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (child is { HasExited: true })
                Assert.Fail($"lte exited with {child.ExitCode} before {what}: {await child.StandardError.ReadToEndAsync()}");
            if (clock.Elapsed > patience)
                Assert.Fail($"gave up waiting for {what} after {patience.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>The manifest of an output directory (unsharded), or null while it does not exist.</summary>
    public static JsonElement? Manifest(string directory, string name = "_manifest.json")
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path))
            return null;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static Task WriteParquetAsync(string path, ParquetSchema schema, Func<ParquetRowGroupWriter, Task> columns) =>
        WriteParquetCoreAsync(path, schema, columns);

    private static async Task WriteParquetCoreAsync(string path, ParquetSchema schema, Func<ParquetRowGroupWriter, Task> columns)
    {
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(schema, stream);
        using var group = writer.CreateRowGroup();
        await columns(group);
        group.CompleteValidate();
    }
}
