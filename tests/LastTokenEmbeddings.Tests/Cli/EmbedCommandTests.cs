using System.Text.Json;
using LastTokenEmbeddings.Tests.Embeddings;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary><c>lte embed --format json</c> reproduces the pooled vectors derived from reference.safetensors.</summary>
public class EmbedCommandTests
{
    private const double Tolerance = 1e-4;

    private static IEnumerable<TestCaseData> Runs() =>
        from mode in ReferenceData.Modes
        from strategy in new[] { "last_token_logits", "last_token_hidden", "mean" }
        select new TestCaseData(mode, strategy).SetName($"Embed_json_matches_reference({mode}/{strategy})");

    [TestCaseSource(nameof(Runs))]
    public async Task Embed_json_matches_reference(string mode, string strategy)
    {
        var texts = Lte.ReferenceTexts();
        var pooling = strategy.Replace('_', '-');
        var run = await Lte.OnFixture("embed",
            ["--format", "json", "--no-normalize", "--dtype", "float32", "--pooling", pooling, .. Lte.PromptArgs(mode), "--", .. texts]);
        var json = run.Json();
        Assert.That(json.GetProperty("model").GetString(), Is.EqualTo(Path.GetFullPath(TestPaths.FixtureDirectory)));
        Assert.That(json.GetProperty("pooling").GetString(), Is.EqualTo(pooling));
        Assert.That(json.GetProperty("prompt").GetString(), Is.EqualTo(Lte.PromptArgs(mode)[1]));
        Assert.That(json.GetProperty("normalized").GetBoolean(), Is.False);
        var dimension = json.GetProperty("dimension").GetInt32();
        Assert.That(dimension, Is.EqualTo(strategy == "last_token_logits" ? 32000 : 64));
        var data = json.GetProperty("data");
        Assert.That(data.GetArrayLength(), Is.EqualTo(texts.Length));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(data[i].GetProperty("index").GetInt32(), Is.EqualTo(i));
            Assert.That(data[i].GetProperty("tokens").GetInt32(), Is.EqualTo(ReferenceData.Ids(mode, i).Length), $"tokens of text {i}");
            var vector = Floats(data[i].GetProperty("embedding"));
            Assert.That(vector, Has.Length.EqualTo(dimension));
            using var scope = NewDisposeScope();
            var expected = ReferenceEmbeddingTests.ExpectedPooled(mode, i, strategy);
            Assert.That(ReferenceData.MaxAbsDiff(tensor(vector), expected), Is.LessThanOrEqualTo(Tolerance), $"text {i}");
        }
    }

    [Test]
    public async Task Special_tokens_option_reaches_the_embedding()
    {
        var parsed = (await Lte.OnFixture("embed", "--format", "json", "--special-tokens", "parse", "Hi</s>there")).Json().GetProperty("data")[0];
        var spelled = (await Lte.OnFixture("embed", "--format", "json", "--special-tokens", "text", "Hi</s>there")).Json().GetProperty("data")[0];
        Assert.That(spelled.GetProperty("tokens").GetInt32(), Is.GreaterThan(parsed.GetProperty("tokens").GetInt32()), "'</s>' spelled out takes several tokens");
        Assert.That(Floats(spelled.GetProperty("embedding")), Is.Not.EqualTo(Floats(parsed.GetProperty("embedding"))));
    }

    [Test]
    public async Task Normalized_by_default_and_dimensions_cut()
    {
        var run = await Lte.OnFixture("embed", "--format", "json", "--dimensions", "16", "Hello world!");
        var json = run.Json();
        Assert.That(json.GetProperty("normalized").GetBoolean(), Is.True);
        Assert.That(json.GetProperty("dimension").GetInt32(), Is.EqualTo(16));
        var vector = Floats(json.GetProperty("data")[0].GetProperty("embedding"));
        Assert.That(vector, Has.Length.EqualTo(16));
        Assert.That(Math.Sqrt(vector.Sum(v => (double)v * v)), Is.EqualTo(1.0).Within(1e-5));
    }

    [Test]
    public Task Input_file_of_plain_lines_equals_arguments()
    {
        var texts = new[] { "Where is the headquarter of OpenAI?", "What is GPU?", "  leading and trailing spaces  " };
        return AssertInputFileEqualsArguments(string.Join("\r\n", texts) + "\n\n", texts);
    }

    [Test]
    public Task Input_file_of_json_lines_uses_the_text_field()
    {
        var texts = new[] { "Line one\nLine two\ttabbed", "{not json}", "What is GPU?" };
        var jsonl = string.Join("\n", texts.Select((t, i) => JsonSerializer.Serialize(new { id = i, text = t }))) + "\n";
        return AssertInputFileEqualsArguments(jsonl, texts);
    }

    private static async Task AssertInputFileEqualsArguments(string fileContent, string[] texts)
    {
        var path = TempFile(fileContent);
        try
        {
            var fromFile = await Lte.OnFixture("embed", "--format", "json", "--input", path);
            var fromArgs = await Lte.OnFixture("embed", ["--format", "json", "--", .. texts]);
            Assert.That(fromFile.Json().GetProperty("data").GetArrayLength(), Is.EqualTo(texts.Length));
            Assert.That(fromFile.Stdout, Is.EqualTo(fromArgs.Stdout));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task Progress_never_reaches_stdout()
    {
        var texts = Lte.ReferenceTexts();
        Assert.That(texts, Has.Length.GreaterThan(8));
        var run = await Lte.RunWithTerminalStderr(["embed", "--model", TestPaths.FixtureDirectory, "--format", "json", "--", .. texts]);
        Assert.That(run.Json().GetProperty("data").GetArrayLength(), Is.EqualTo(texts.Length));
    }

    [Test]
    public async Task Table_shows_each_text()
    {
        var run = await Lte.OnFixture("embed", "Hello world!", "What is GPU?");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        Assert.That(run.Stdout, Does.Contain("Hello world!").And.Contain("What is GPU?").And.Contain("last-token-hidden"));
    }

    [Test]
    public async Task No_texts_is_a_usage_error()
    {
        var run = await Lte.OnFixture("embed");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
    }

    internal static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => e.GetSingle()).ToArray();

    private static string TempFile(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lte-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, content);
        return path;
    }
}
