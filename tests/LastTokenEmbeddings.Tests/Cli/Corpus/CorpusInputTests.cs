using System.Text;
using System.Text.Json;
using LastTokenEmbeddings.Cli.Corpus;
using Parquet.Schema;

namespace LastTokenEmbeddings.Tests.Cli.Corpus;

/// <summary>
/// embed-corpus inputs: CSV and TSV (header or not, quoting), Parquet, and bad records (reported with their line or
/// row in the rejects file, or failing the run). The same texts given as JSON lines are the reference.
/// </summary>
[NonParallelizable]
public class CorpusInputTests
{
    private string root = "";

    [SetUp]
    public void CreateDirectory() => root = CorpusFiles.NewDirectory("input");

    [TearDown]
    public void RemoveDirectory() => CorpusFiles.DeleteDirectory(root);

    private static readonly (string Id, string Text)[] Tricky =
    [
        ("a", "plain text"),
        ("b", "with, a comma"),
        ("c", "say \"hi\" twice \"\""),
        ("d", "two\nlines"),
        ("e", "windows\r\nbreak"),
        ("f", "  spaces kept  "),
        ("g", "café 東京 🙂"),
        ("h", ""),
        ("i", "5\" screen, quote mid-field"),
    ];

    private static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\r', '\n']) >= 0 || field.StartsWith(' ') ? "\"" + field.Replace("\"", "\"\"") + "\"" : field;

    private string JsonLines(IEnumerable<(string Id, string Text)> records, string name = "reference.jsonl")
    {
        var path = Path.Combine(root, name);
        File.WriteAllText(path, string.Concat(records.Select(r => JsonSerializer.Serialize(new { id = r.Id, text = r.Text }) + "\n")), new UTF8Encoding(false));
        return path;
    }

    private async Task<List<CorpusRow>> Embed(string input, params string[] more)
    {
        var output = Path.Combine(root, "out-" + Guid.NewGuid().ToString("N"));
        var run = await Lte.OnFixture("embed-corpus", ["--input", input, "--output", output, "--dtype", "float32", .. more]);
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        LastOutput = output;
        return await CorpusFiles.ReadOutputAsync(output);
    }

    private string LastOutput { get; set; } = "";

    private string[] Rejects() => File.ReadAllLines(Path.Combine(LastOutput, "_rejects.jsonl"));

    [Test]
    public async Task Csv_with_header_quoting_bom_and_crlf_equals_the_same_texts_as_json_lines()
    {
        var csv = new StringBuilder("\uFEFFid,text,lang\r\n");
        foreach (var (id, text) in Tricky)
            csv.Append(id).Append(',').Append(Csv(text)).Append(",en\r\n");
        var path = Path.Combine(root, "corpus.csv");
        File.WriteAllText(path, csv.ToString(), new UTF8Encoding(false));

        var rows = await Embed(path, "--keep-fields", "lang");
        var expected = await Embed(JsonLines(Tricky));
        CorpusFiles.AssertSameRecords(rows.Select(r => r with { Fields = null }).ToList(), expected, 1e-5, "CSV vs JSONL");
        Assert.That(rows.Select(r => r.Fields).Distinct(), Is.EqualTo(new[] { """{"lang":"en"}""" }));
    }

    [Test]
    public async Task Bad_csv_rows_are_rejected_with_their_line()
    {
        var path = Path.Combine(root, "bad.csv");
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.UTF8.GetBytes("id,text\nok,fine\nragged,one,too many\n,no id\n\"multi\",\"line\nrecord\"\nbad-utf8,"));
        bytes.AddRange([0xC3, 0x28]);
        bytes.AddRange(Encoding.UTF8.GetBytes("\nlast,\"never closed\n"));
        File.WriteAllBytes(path, [.. bytes]);

        var rows = await Embed(path);
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(new[] { "ok", "multi" }));
        var rejects = Rejects();
        Assert.That(rejects, Has.Length.EqualTo(4));
        Assert.That(rejects[0], Is.EqualTo("""{"row":1,"line":3,"reason":"has 3 fields; the header has 2"}"""));
        Assert.That(rejects[1], Is.EqualTo("""{"row":2,"line":4,"reason":"missing id (column 'id')"}"""));
        Assert.That(rejects[2], Is.EqualTo("""{"row":4,"line":7,"id":"bad-utf8","reason":"invalid UTF-8 in the text (column 'text')"}"""));
        Assert.That(rejects[3], Is.EqualTo("""{"row":5,"line":8,"reason":"a quoted field is not closed before the end of the input"}"""));
    }

    [Test]
    public async Task Tsv_without_header_takes_columns_1_and_2_and_quotes_literally()
    {
        (string Id, string Text)[] records = [("1", "\"quoted\" at the start"), ("2", "plain"), ("3", "a \"\" pair")];
        var path = Path.Combine(root, "collection.tsv");
        File.WriteAllText(path, string.Concat(records.Select(r => $"{r.Id}\t{r.Text}\n")));
        var rows = await Embed(path, "--no-header");
        CorpusFiles.AssertSameRecords(rows, await Embed(JsonLines(records)), 1e-5, "TSV vs JSONL");

        var reordered = Path.Combine(root, "reordered.tsv");
        File.WriteAllText(reordered, string.Concat(records.Select(r => $"{r.Text}\tx\t{r.Id}\n")));
        CorpusFiles.AssertSameRecords(await Embed(reordered, "--no-header", "--id-field", "3", "--text-field", "1"), rows, 1e-5, "columns chosen by number");
    }

    [Test]
    public async Task Parquet_input_with_kept_columns_nulls_and_several_row_groups()
    {
        var id = new DataField<string>("id", true);
        var text = new DataField<string>("text", true);
        var n = new DataField<long>("n");
        var score = new DataField<double?>("score");
        var path = Path.Combine(root, "corpus.parquet");
        string?[] ids = ["p0", "p1", null, "p3", "p4"];
        string?[] texts = ["first", null, "no id", "fourth, with \"quotes\"", "café"];
        await CorpusFiles.WriteParquetAsync(path, new ParquetSchema(id, text, n, score), async group =>
        {
            await group.WriteAsync(id, ids);
            await group.WriteAsync(text, texts);
            await group.WriteAsync<long>(n, new long[] { 0, 1, 2, 3, 4 });
            await group.WriteAsync<double>(score, new double?[] { 0.5, null, 1, 2.25, null });
        });

        var rows = await Embed(path, "--keep-fields", "all");
        var expected = await Embed(JsonLines([("p0", "first"), ("p3", "fourth, with \"quotes\""), ("p4", "café")]));
        CorpusFiles.AssertSameRecords(rows.Select(r => r with { Fields = null }).ToList(), expected, 1e-5, "Parquet vs JSONL");
        Assert.That(rows.Select(r => r.Fields), Is.EqualTo(new[] { """{"n":0,"score":0.5}""", """{"n":3,"score":2.25}""", """{"n":4,"score":null}""" }));
        await Embed(path); // LastOutput: the rejects of a run without kept fields
        Assert.That(Rejects(), Is.EqualTo(new[]
        {
            """{"row":1,"id":"p1","reason":"missing text (column 'text')"}""",
            """{"row":2,"reason":"missing id (column 'id')"}""",
        }));
    }

    [Test]
    public async Task Parquet_input_with_integer_ids_and_binary_text_checks_utf8()
    {
        var id = new DataField<long>("doc");
        var body = new DataField<byte[]>("body", true);
        var path = Path.Combine(root, "binary.parquet");
        await CorpusFiles.WriteParquetAsync(path, new ParquetSchema(id, body), async group =>
        {
            await group.WriteAsync<long>(id, new long[] { 7, 8, 9 });
            await group.WriteAsync(body, new byte[]?[] { Encoding.UTF8.GetBytes("seven"), [0xFF, 0x41], Encoding.UTF8.GetBytes("nine") });
        });
        var rows = await Embed(path, "--id-field", "doc", "--text-field", "body");
        CorpusFiles.AssertSameRecords(rows, await Embed(JsonLines([("7", "seven"), ("9", "nine")])), 1e-5, "binary Parquet vs JSONL");
        await Embed(path, "--id-field", "doc", "--text-field", "body");
        Assert.That(Rejects(), Is.EqualTo(new[] { """{"row":1,"id":"8","reason":"invalid UTF-8 in the text (column 'body')"}""" }));
    }

    [Test]
    public async Task Parquet_input_resumes_inside_a_row_group()
    {
        var id = new DataField<string>("id");
        var text = new DataField<string>("text");
        var path = Path.Combine(root, "groups.parquet");
        // Three row groups of 400.
        await using (var stream = File.Create(path))
        await using (var writer = await Parquet.ParquetWriter.CreateAsync(new ParquetSchema(id, text), stream))
        {
            for (var g = 0; g < 3; g++)
            {
                using var group = writer.CreateRowGroup();
                await group.WriteAsync(id, Enumerable.Range(g * 400, 400).Select(CorpusFiles.Id).ToArray());
                await group.WriteAsync(text, Enumerable.Range(g * 400, 400).Select(CorpusFiles.Text).ToArray());
            }
        }
        var expected = await Embed(path);
        var output = Path.Combine(root, "resumed");
        using var cancellation = new CancellationTokenSource();
        Environment.SetEnvironmentVariable(CorpusJob.HoldBeforeCommitVariable, "1");
        try
        {
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var running = LastTokenEmbeddings.Cli.LteApp.RunAsync(
                ["embed-corpus", "--model", TestPaths.FixtureDirectory, "--input", path, "--output", output, "--dtype", "float32", "--chunk-records", "250"],
                stdout, stderr, cancellation.Token);
            await CorpusFiles.WaitUntilAsync(() => File.Exists(Path.Combine(output, "part-000001.parquet")) || running.IsCompleted, TimeSpan.FromMinutes(2), "the second chunk");
            await cancellation.CancelAsync();
            Assert.That(await running, Is.EqualTo(130), stderr.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable(CorpusJob.HoldBeforeCommitVariable, null);
        }
        Assert.That(CorpusFiles.Manifest(output)!.Value.GetProperty("position").GetProperty("records").GetInt64(), Is.EqualTo(500), "stopped in row group 1");
        var run = await Lte.OnFixture("embed-corpus", "--input", path, "--output", output, "--dtype", "float32", "--chunk-records", "250");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        var rows = await CorpusFiles.ReadOutputAsync(output);
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(expected.Select(r => r.Id)));
        CorpusFiles.AssertSameRecords(rows, expected, 1e-5, "resumed Parquet input");
    }

    [Test]
    public async Task Json_lines_bad_records_are_listed_with_line_and_reason()
    {
        var path = Path.Combine(root, "bad.jsonl");
        var lines = new List<byte[]>
        {
            Encoding.UTF8.GetBytes("""{"id": 17, "text": "numeric ids become strings in the output files"}"""),
            Encoding.UTF8.GetBytes("""{"text": "no id"}"""),
            Encoding.UTF8.GetBytes("""{"id": "t", "text": null}"""),
            Encoding.UTF8.GetBytes("""["an", "array"]"""),
            Encoding.UTF8.GetBytes("""{"id": {"nested": 1}, "text": "object id"}"""),
            Encoding.UTF8.GetBytes("""{"id": "", "text": "empty id"}"""),
            Encoding.UTF8.GetBytes("""{"id": "u", "text": "bad byte """).Append((byte)0xFF).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray(),
            Encoding.UTF8.GetBytes("""{"id": "s", "text": "lone \ud800 surrogate"}"""),
            Encoding.UTF8.GetBytes("""{"id": "long", "text": "one two three four five six seven eight nine ten eleven twelve thirteen"}"""),
            Encoding.UTF8.GetBytes("""{"id": "short", "text": "short"}"""),
        };
        File.WriteAllBytes(path, [.. lines.SelectMany(l => l.Append((byte)'\n'))]);

        var rows = await Embed(path, "--no-truncate", "--max-tokens", "8");
        Assert.That(rows.Select(r => r.Id), Is.EqualTo(new[] { "short" }), "numeric id 17 is over the limit too");
        var rejects = Rejects().Select(line => JsonDocument.Parse(line).RootElement).ToArray();
        Assert.That(rejects.Select(r => r.GetProperty("line").GetInt32()), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }));
        Assert.That(rejects.Select(r => r.GetProperty("row").GetInt32()), Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8 }));
        string Reason(int i) => rejects[i].GetProperty("reason").GetString()!;
        Assert.That(Reason(0), Does.Match(@"^\d+ tokens, over the limit of 8 \(truncation is off\)$"));
        Assert.That(rejects[0].GetProperty("id").GetString(), Is.EqualTo("17"));
        Assert.That(Reason(1), Is.EqualTo("missing id (field 'id')"));
        Assert.That(Reason(2), Is.EqualTo("missing text (field 'text')"));
        Assert.That(rejects[2].GetProperty("id").GetString(), Is.EqualTo("t"));
        Assert.That(Reason(3), Is.EqualTo("a JSON array, not an object"));
        Assert.That(Reason(4), Is.EqualTo("id (field 'id') is a object, not a string or number"));
        Assert.That(Reason(5), Is.EqualTo("empty id (field 'id')"));
        Assert.That(Reason(6), Is.EqualTo("invalid UTF-8"));
        Assert.That(Reason(7), Is.EqualTo("text holds an unpaired UTF-16 surrogate escape"));
        Assert.That(Reason(8), Does.Match(@"^\d+ tokens, over the limit of 8"));

        var truncating = await Embed(path, "--max-tokens", "8");
        Assert.That(truncating.Where(r => r.Truncated).Select(r => (r.Id, r.Tokens)), Is.EqualTo(new[] { ("17", 8), ("long", 8) }),
            "with truncation on, over-long texts are cut and flagged");
    }

    [Test]
    public async Task Fail_mode_stops_at_the_first_bad_record_after_committing_the_good_ones()
    {
        var path = JsonLines([("a", "one"), ("b", "two")], "fail.jsonl");
        File.AppendAllText(path, "{\"id\": \"c\"}\n{\"id\": \"d\", \"text\": \"four\"}\n");
        var output = Path.Combine(root, "fail");
        var run = await Lte.OnFixture("embed-corpus", "--input", path, "--output", output, "--on-bad-record", "fail", "--dtype", "float32");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.StderrLines.Last(), Does.StartWith("lte: error: bad record at line 3").And.Contain("id 'c'").And.Contain("missing text"));
        Assert.That((await CorpusFiles.ReadOutputAsync(output)).Select(r => r.Id), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(File.Exists(Path.Combine(output, "_rejects.jsonl")), Is.False);

        // The mode is not part of the fingerprint: the run continues after the committed records.
        var skip = await Lte.OnFixture("embed-corpus", "--input", path, "--output", output, "--dtype", "float32");
        Assert.That(skip.ExitCode, Is.EqualTo(0), skip.Stderr);
        Assert.That((await CorpusFiles.ReadOutputAsync(output)).Select(r => r.Id), Is.EqualTo(new[] { "a", "b", "d" }));
    }

    [TestCase("--text-field", "body", "no column 'body'")]
    [TestCase("--input", "-", "must be a file")]
    [TestCase("--shards", "4", "JOB_COMPLETION_INDEX")]
    [TestCase("--shard", "4/4", "0 <= I < N")]
    [TestCase("--input-format", "xml", "jsonl")]
    public async Task Bad_arguments_are_usage_errors(string option, string value, string message)
    {
        var path = Path.Combine(root, "c.csv");
        File.WriteAllText(path, "id,text\n1,a\n");
        var previous = Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable);
        Environment.SetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable, null);
        try
        {
            string[] args = option == "--input" ? [option, value] : ["--input", path, option, value];
            var run = await Lte.OnFixture("embed-corpus", [.. args, "--output", Path.Combine(root, "out")]);
            Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
            Assert.That(run.StderrLines, Has.Length.LessThanOrEqualTo(2));
            Assert.That(run.StderrLines.Last(), Does.StartWith("lte: error: ").And.Contain(message));
        }
        finally
        {
            Environment.SetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable, previous);
        }
    }
}
