using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Cli.Corpus;
using Parquet;
using Parquet.Schema;

namespace LastTokenEmbeddings.Tests.Cli.Corpus;

/// <summary>
/// <c>lte embed-corpus</c> on a 5,000-record JSONL corpus (with a few bad lines) and the tiny model in float32: one run
/// equals the union of four shards, a killed or cancelled run resumes to exactly the one-run result, changed settings
/// refuse to resume, and the Parquet output has the documented schema.
/// </summary>
[NonParallelizable]
public class EmbedCorpusTests
{
    private const int RecordCount = 5000;

    /// <summary>Lines (0-based record numbers after which they are inserted) that are bad records.</summary>
    private static readonly (int After, string Line, string Reason)[] BadLines =
    [
        (10, """{"id":"no-text"}""", "missing text (field 'text')"),
        (999, """{"text":"no id here"}""", "missing id (field 'id')"),
        (2500, "this is not json", "not valid JSON"),
        (4998, """{"id":"wrong","text":42}""", "text (field 'text') is a number, not a string"),
    ];

    private string root = "";
    private string input = "";
    private string single = "";
    private List<CorpusRow> singleRows = [];

    [OneTimeSetUp]
    public async Task EmbedTheCorpusOnce()
    {
        root = CorpusFiles.NewDirectory("main");
        input = Path.Combine(root, "corpus.jsonl");
        var lines = File.ReadAllLines(CorpusFiles.WriteJsonLines(root, RecordCount, "good.jsonl")).ToList();
        foreach (var (after, line, _) in BadLines.OrderByDescending(b => b.After))
            lines.Insert(after + 1, line);
        lines.Insert(3000, ""); // blank lines are not records
        File.WriteAllText(input, string.Join("\n", lines) + "\n", new UTF8Encoding(false));
        single = Path.Combine(root, "single");
        var run = await Lte.OnFixture("embed-corpus", Args(single));
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        singleRows = await CorpusFiles.ReadOutputAsync(single);
    }

    [OneTimeTearDown]
    public void RemoveFiles() => CorpusFiles.DeleteDirectory(root);

    private string[] Args(string output, params string[] more) =>
        ["--input", input, "--output", output, "--dtype", "float32", "--progress-interval", "3600",
         .. more.Contains("--chunk-records") ? [] : new[] { "--chunk-records", "1000" }, .. more];

    [Test]
    public void One_run_embeds_every_good_record_once_and_rejects_the_bad_ones()
    {
        Assert.That(singleRows, Has.Count.EqualTo(RecordCount));
        Assert.That(singleRows.Select(r => r.Id), Is.EqualTo(Enumerable.Range(0, RecordCount).Select(CorpusFiles.Id)), "in input order across the chunk files");
        var rejects = File.ReadAllLines(Path.Combine(single, "_rejects.jsonl"));
        Assert.That(rejects, Has.Length.EqualTo(BadLines.Length));
        for (var i = 0; i < BadLines.Length; i++)
            Assert.That(rejects[i], Does.Contain(BadLines[i].Reason));
        var manifest = CorpusFiles.Manifest(single)!.Value;
        Assert.That(manifest.GetProperty("complete").GetBoolean(), Is.True);
        Assert.That(manifest.GetProperty("embedded").GetInt64(), Is.EqualTo(RecordCount));
        Assert.That(manifest.GetProperty("rejected").GetInt64(), Is.EqualTo(BadLines.Length));
        Assert.That(manifest.GetProperty("chunks").GetArrayLength(), Is.EqualTo(6), "1000 records (embedded or rejected) per chunk");
    }

    [Test]
    public async Task One_run_equals_the_union_of_four_shards()
    {
        var sharded = Path.Combine(root, "sharded");
        for (var shard = 0; shard < 4; shard++)
        {
            var run = await Lte.OnFixture("embed-corpus", Args(sharded, "--shard", $"{shard}/4"));
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        }
        var union = await CorpusFiles.ReadOutputAsync(sharded);
        CorpusFiles.AssertSameRecords(union, singleRows, 1e-5, "4 shards vs one run");
        for (var shard = 0; shard < 4; shard++)
        {
            var files = Directory.GetFiles(sharded, $"shard-{shard:D5}-of-00004-part-*.parquet");
            var rows = new List<CorpusRow>();
            foreach (var file in files)
                rows.AddRange(await CorpusFiles.ReadParquetAsync(file));
            Assert.That(rows, Has.Count.InRange(RecordCount / 4 - 150, RecordCount / 4 + 150), $"shard {shard} holds about a quarter");
            Assert.That(rows.All(r => ShardSpec.HashId(r.Id) % 4 == (ulong)shard), Is.True, $"shard {shard} holds exactly its ids");
        }
        var rejects = Enumerable.Range(0, 4).SelectMany(s => File.ReadAllLines(Path.Combine(sharded, $"_rejects-shard-{s:D5}-of-00004.jsonl")));
        Assert.That(rejects.Order(StringComparer.Ordinal), Is.EqualTo(File.ReadAllLines(Path.Combine(single, "_rejects.jsonl")).Order(StringComparer.Ordinal)),
            "every bad record is reported by exactly one shard");
    }

    [Test]
    public async Task Shards_from_JOB_COMPLETION_INDEX_equal_explicit_shards()
    {
        var explicitShard = Path.Combine(root, "explicit-2");
        var fromIndex = Path.Combine(root, "index-2");
        Assert.That((await Lte.OnFixture("embed-corpus", Args(explicitShard, "--shard", "2/3", "--shard-by", "row"))).ExitCode, Is.EqualTo(0));
        var previous = Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable);
        Environment.SetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable, "2");
        try
        {
            var run = await Lte.OnFixture("embed-corpus", Args(fromIndex, "--shards", "3", "--shard-by", "row"));
            Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable, previous);
        }
        var expected = await CorpusFiles.ReadOutputAsync(explicitShard);
        CorpusFiles.AssertSameRecords(await CorpusFiles.ReadOutputAsync(fromIndex), expected, 1e-5, "--shards 3 with JOB_COMPLETION_INDEX=2 vs --shard 2/3");
        // By row, shard 2 of 3 takes records 2, 5, 8, ... (record numbers count the bad records too).
        Assert.That(expected.Select(r => r.Id), Does.Contain(CorpusFiles.Id(2)).And.Not.Contain(CorpusFiles.Id(3)));
    }

    [Test]
    public async Task A_killed_run_resumes_to_exactly_the_one_run_result()
    {
        var output = Path.Combine(root, "killed");
        // The hook holds the child just before it records chunk 2 in the manifest (rows 1000-1499, which hold a bad
        // record): that chunk's file is written and its reject appended, neither committed. The child is still
        // running there, so the kill always lands part-way, at a known state.
        using (var child = CorpusFiles.StartLte(["embed-corpus", "--model", TestPaths.FixtureDirectory, .. Args(output, "--chunk-records", "500")],
                   new Dictionary<string, string> { [CorpusJob.HoldBeforeCommitVariable] = "2" }))
        {
            await CorpusFiles.WaitUntilAsync(
                () => CorpusFiles.Manifest(output)?.GetProperty("chunks").GetArrayLength() >= 1 && File.Exists(Path.Combine(output, "part-000002.parquet")),
                TimeSpan.FromMinutes(3), "a committed chunk and the held one", child);
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }
        var killed = CorpusFiles.Manifest(output)!.Value;
        Assert.That(killed.GetProperty("complete").GetBoolean(), Is.False, "killed part-way");
        Assert.That(killed.GetProperty("chunks").GetArrayLength(), Is.EqualTo(2));
        Assert.That(new FileInfo(Path.Combine(output, "_rejects.jsonl")).Length, Is.GreaterThan(killed.GetProperty("rejectsBytes").GetInt64()),
            "a reject past the committed length");

        var rerun = await Lte.OnFixture("embed-corpus", Args(output, "--chunk-records", "500", "--format", "json"));
        var summary = rerun.Json();
        Assert.That(summary.GetProperty("resumed").GetBoolean(), Is.True);
        Assert.That(summary.GetProperty("recordsThisRun").GetInt64(), Is.LessThan(RecordCount), "continued, not started over");
        var rows = await CorpusFiles.ReadOutputAsync(output);
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(singleRows.Select(r => r.Id)), "each record once, in order");
        CorpusFiles.AssertSameRecords(rows, singleRows, 1e-5, "killed and resumed vs one run");
        Assert.That(File.ReadAllText(Path.Combine(output, "_rejects.jsonl")), Is.EqualTo(File.ReadAllText(Path.Combine(single, "_rejects.jsonl"))));
        var listed = CorpusFiles.Manifest(output)!.Value.GetProperty("chunks").EnumerateArray().Select(c => c.GetProperty("file").GetString()).ToList();
        Assert.That(CorpusFiles.ChunkFiles(output).Select(Path.GetFileName), Is.EqualTo(listed), "no chunk file beyond the manifest");
        Assert.That(Directory.GetFiles(output, "*.tmp"), Is.Empty);
    }

    [Test]
    public async Task A_cancelled_run_commits_what_it_embedded_and_resumes()
    {
        var output = Path.Combine(root, "cancelled");
        using var cancellation = new CancellationTokenSource();
        Environment.SetEnvironmentVariable(CorpusJob.HoldBeforeCommitVariable, "2");
        Task<int> running;
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            running = LastTokenEmbeddings.Cli.LteApp.RunAsync(["embed-corpus", "--model", TestPaths.FixtureDirectory, .. Args(output, "--chunk-records", "700")],
                stdout, stderr, cancellation.Token);
            // Chunk 2's file exists once the run holds before recording it.
            await CorpusFiles.WaitUntilAsync(() => File.Exists(Path.Combine(output, "part-000002.parquet")) || running.IsCompleted,
                TimeSpan.FromMinutes(3), "the third chunk file");
            await cancellation.CancelAsync();
            Assert.That(await running, Is.EqualTo(130), stderr.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(CorpusJob.HoldBeforeCommitVariable, null);
        }
        var stopped = CorpusFiles.Manifest(output)!.Value;
        Assert.That(stopped.GetProperty("complete").GetBoolean(), Is.False);
        Assert.That(stopped.GetProperty("chunks").GetArrayLength(), Is.EqualTo(3), "the held chunk was committed on cancellation");

        var rerun = await Lte.OnFixture("embed-corpus", Args(output, "--chunk-records", "700"));
        Assert.That(rerun.ExitCode, Is.EqualTo(0), rerun.Stderr);
        Assert.That(rerun.Stderr, Does.Contain("resuming"));
        var rows = await CorpusFiles.ReadOutputAsync(output);
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(singleRows.Select(r => r.Id)));
        CorpusFiles.AssertSameRecords(rows, singleRows, 1e-5, "cancelled and resumed vs one run");
        Assert.That(File.ReadAllText(Path.Combine(output, "_rejects.jsonl")), Is.EqualTo(File.ReadAllText(Path.Combine(single, "_rejects.jsonl"))));
    }

    [Test]
    public async Task Rerunning_a_complete_output_changes_nothing()
    {
        var before = Directory.GetFiles(single).ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var run = await Lte.OnFixture("embed-corpus", Args(single, "--format", "json"));
        var json = run.Json();
        Assert.That(json.GetProperty("alreadyComplete").GetBoolean(), Is.True);
        Assert.That(json.GetProperty("embedded").GetInt64(), Is.EqualTo(RecordCount));
        Assert.That(Directory.GetFiles(single).ToDictionary(f => f, File.GetLastWriteTimeUtc), Is.EqualTo(before));
    }

    [TestCase("--pooling", "mean", "pooling")]
    [TestCase("--dimensions", "32", "dimensions")]
    [TestCase("--prompt", "mistral-instruct", "prompt")]
    [TestCase("--role", "query", "role")]
    [TestCase("--output-format", "jsonl", "outputFormat")]
    [TestCase("--no-truncate", null, "truncate")]
    public async Task Changed_settings_refuse_to_resume(string option, string? value, string setting)
    {
        var output = Path.Combine(root, "changed-" + option.Trim('-'));
        Assert.That((await Lte.OnFixture("embed-corpus", Args(output, "--chunk-records", "2000"))).ExitCode, Is.EqualTo(0));
        var manifest = File.ReadAllText(Path.Combine(output, "_manifest.json"));
        string[] changed = value is null ? [option] : [option, value];
        var run = await Lte.OnFixture("embed-corpus", Args(output, ["--chunk-records", "2000", .. changed]));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.StderrLines.Last(), Does.StartWith("lte: error: ").And.Contain("other settings").And.Contain(setting + ":"));
        Assert.That(File.ReadAllText(Path.Combine(output, "_manifest.json")), Is.EqualTo(manifest), "the output is left alone");

        var restarted = await Lte.OnFixture("embed-corpus", Args(output, ["--chunk-records", "2000", "--restart", .. changed]));
        Assert.That(restarted.ExitCode, Is.EqualTo(0), "--restart discards the old results: " + restarted.Stderr);
    }

    [Test]
    public async Task A_changed_input_refuses_to_resume()
    {
        var output = Path.Combine(root, "changed-input");
        var copy = Path.Combine(root, "copy.jsonl");
        File.Copy(input, copy);
        string[] args = ["--input", copy, "--output", output, "--dtype", "float32", "--chunk-records", "2000"];
        Assert.That((await Lte.OnFixture("embed-corpus", args)).ExitCode, Is.EqualTo(0));
        File.AppendAllText(copy, """{"id":"late","text":"appended after the run"}""" + "\n");
        var run = await Lte.OnFixture("embed-corpus", args);
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("input.bytes:").And.Contain("input.sample:"));
    }

    [Test]
    public async Task A_shard_refuses_an_output_directory_of_another_job()
    {
        var run = await Lte.OnFixture("embed-corpus", Args(single, "--shard", "0/4"));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("another job").And.Contain("shard.count:"));
    }

    [Test]
    public async Task Files_of_others_in_the_output_directory_are_left_alone()
    {
        var output = Path.Combine(root, "shared-dir");
        Directory.CreateDirectory(output);
        string[] foreign = ["part-00000-1f2e.snappy.parquet", "notes.txt", "part-1.parquet"];
        foreach (var name in foreign)
            File.WriteAllText(Path.Combine(output, name), "not ours");
        var small = Path.Combine(root, "small-foreign.jsonl");
        File.WriteAllLines(small, File.ReadLines(input).Take(50));
        string[] args = ["--input", small, "--output", output, "--dtype", "float32"];
        Assert.That((await Lte.OnFixture("embed-corpus", args)).ExitCode, Is.EqualTo(0));
        Assert.That((await Lte.OnFixture("embed-corpus", [.. args, "--restart"])).ExitCode, Is.EqualTo(0));
        foreach (var name in foreign)
            Assert.That(File.ReadAllText(Path.Combine(output, name)), Is.EqualTo("not ours"), name);
        Assert.That(File.Exists(Path.Combine(output, "part-000000.parquet")), Is.True);
    }

    [Test]
    public async Task A_second_worker_on_the_same_shard_is_refused()
    {
        var output = Path.Combine(root, "locked");
        Directory.CreateDirectory(output);
        using (new FileStream(Path.Combine(output, ".lte.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var run = await Lte.OnFixture("embed-corpus", Args(output));
            Assert.That(run.ExitCode, Is.EqualTo(1));
            Assert.That(run.Stderr, Does.Contain("another lte embed-corpus is writing"));
        }
    }

    [Test]
    public async Task Progress_goes_to_stderr_as_a_bar_on_a_terminal_or_as_plain_lines()
    {
        var small = Path.Combine(root, "small.jsonl");
        File.WriteAllLines(small, File.ReadLines(input).Take(300));
        var terminal = await Lte.RunWithTerminalStderr("embed-corpus", "--model", TestPaths.FixtureDirectory, "--input", small,
            "--output", Path.Combine(root, "small-terminal"), "--dtype", "float32", "--format", "json");
        Assert.That(terminal.Json().GetProperty("embedded").GetInt64(), Is.EqualTo(299), "stdout is exactly the JSON summary");
        var plain = await Lte.OnFixture("embed-corpus", "--input", small, "--output", Path.Combine(root, "small-plain"), "--dtype", "float32");
        Assert.That(plain.ExitCode, Is.EqualTo(0));
        Assert.That(plain.StderrLines, Has.Some.Match(@"^lte: embed-corpus: done: 100\.0% of input, 299 embedded, 1 rejected, [\d,]+ records/s"));
        Assert.That(plain.Stdout, Does.Contain("embedded").And.Contain("299"));
    }

    [Test]
    public async Task Parquet_output_has_the_documented_schema()
    {
        var file = Path.Combine(single, "part-000000.parquet");
        await using var reader = await ParquetReader.CreateAsync(file);
        var fields = reader.Schema.Fields;
        Assert.That(fields.Select(f => f.Name), Is.EqualTo(new[] { "id", "embedding", "tokens", "truncated" }));
        var id = (DataField)fields[0];
        Assert.That((id.ClrType, id.IsNullable), Is.EqualTo((typeof(ReadOnlyMemory<char>), false)), "id: required UTF-8 string");
        var embedding = (ListField)fields[1];
        var element = (DataField)embedding.Item;
        Assert.That((element.ClrType, element.IsNullable), Is.EqualTo((typeof(float), false)), "embedding: list of required float32");
        Assert.That((((DataField)fields[2]).ClrType, ((DataField)fields[2]).IsNullable), Is.EqualTo((typeof(int), false)), "tokens: required int32");
        Assert.That((((DataField)fields[3]).ClrType, ((DataField)fields[3]).IsNullable), Is.EqualTo((typeof(bool), false)), "truncated: required boolean");
        Assert.That(reader.RowGroupCount, Is.EqualTo(1), "one row group per chunk file");
        Assert.That(reader.CustomMetadata["lte.dimension"], Is.EqualTo("64"));
        Assert.That(reader.CustomMetadata["lte.pooling"], Is.EqualTo("last-token-hidden"));
        Assert.That(reader.CustomMetadata["lte.normalized"], Is.EqualTo("true"));
        Assert.That(reader.CustomMetadata["lte.dtype"], Is.EqualTo("float32"));
        Assert.That(reader.CustomMetadata["lte.shard"], Is.EqualTo("0/1"));
        var rows = await CorpusFiles.ReadParquetAsync(file);
        Assert.That(rows[0].Vector.Sum(v => (double)v * v), Is.EqualTo(1.0).Within(1e-5), "normalised");
    }

    [Test]
    public async Task Vectors_equal_lte_embed_of_the_same_texts()
    {
        int[] picks = [0, 1, 17, 2499, 4999];
        var run = await Lte.OnFixture("embed", ["--format", "json", "--dtype", "float32", "--", .. picks.Select(CorpusFiles.Text)]);
        var data = run.Json().GetProperty("data");
        var byId = singleRows.ToDictionary(r => r.Id);
        for (var i = 0; i < picks.Length; i++)
        {
            var row = byId[CorpusFiles.Id(picks[i])];
            Assert.That(row.Tokens, Is.EqualTo(data[i].GetProperty("tokens").GetInt32()));
            Assert.That(row.Vector, Is.EqualTo(EmbedCommandTests.Floats(data[i].GetProperty("embedding"))).Within(1e-5), $"record {picks[i]}");
        }
    }

    [Test]
    public async Task Corpus_texts_are_documents_unless_told_otherwise()
    {
        var small = Path.Combine(root, "small-role.jsonl");
        File.WriteAllLines(small, File.ReadLines(input).Take(3));
        var output = Path.Combine(root, "role-default");
        var run = await Lte.OnFixture("embed-corpus", "--input", small, "--output", output, "--dtype", "float32", "--prompt", "e5-instruct");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var rows = await CorpusFiles.ReadOutputAsync(output);
        string[] texts = [.. Enumerable.Range(0, 3).Select(CorpusFiles.Text)];
        var documents = (await Lte.OnFixture("embed", ["--format", "json", "--dtype", "float32", "--prompt", "e5-instruct", "--role", "document", "--", .. texts])).Json().GetProperty("data");
        var queries = (await Lte.OnFixture("embed", ["--format", "json", "--dtype", "float32", "--prompt", "e5-instruct", "--role", "query", "--", .. texts])).Json().GetProperty("data");
        for (var i = 0; i < 3; i++)
        {
            Assert.That(rows[i].Vector, Is.EqualTo(EmbedCommandTests.Floats(documents[i].GetProperty("embedding"))).Within(1e-5), $"record {i} as a document");
            Assert.That(rows[i].Tokens, Is.Not.EqualTo(queries[i].GetProperty("tokens").GetInt32()), "a query would carry the instruction");
        }
    }

    [Test]
    public async Task Jsonl_output_holds_the_same_records_with_kept_fields()
    {
        var parquet = Path.Combine(root, "kept-parquet");
        var jsonl = Path.Combine(root, "kept-jsonl");
        Assert.That((await Lte.OnFixture("embed-corpus", Args(parquet, "--keep-fields", "n,tag"))).ExitCode, Is.EqualTo(0));
        Assert.That((await Lte.OnFixture("embed-corpus", Args(jsonl, "--keep-fields", "n,tag", "--output-format", "jsonl"))).ExitCode, Is.EqualTo(0));
        Assert.That(CorpusFiles.ChunkFiles(jsonl).Select(Path.GetFileName).First(), Is.EqualTo("part-000000.jsonl"));
        var first = File.ReadLines(CorpusFiles.ChunkFiles(jsonl).First()).First();
        using (var document = JsonDocument.Parse(first))
        {
            var names = document.RootElement.EnumerateObject().Select(p => p.Name);
            Assert.That(names, Is.EqualTo(new[] { "id", "embedding", "tokens", "truncated", "fields" }));
            Assert.That(document.RootElement.GetProperty("fields").GetRawText(), Is.EqualTo("""{"n":0,"tag":"a"}"""));
        }
        var fromParquet = await CorpusFiles.ReadOutputAsync(parquet);
        CorpusFiles.AssertSameRecords(await CorpusFiles.ReadOutputAsync(jsonl), fromParquet, 1e-5, "jsonl vs parquet output");
        CorpusFiles.AssertSameRecords(fromParquet.Select(r => r with { Fields = null }).ToList(), singleRows, 1e-5, "kept fields do not change vectors");
    }
}
