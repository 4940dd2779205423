using System.Text.Json;
using System.Text.RegularExpressions;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary><c>lte compare</c>: the article's experiment on the fixture.</summary>
public class CompareCommandTests
{
    private static readonly string[] DefaultPoolings = ["last-token-logits", "last-token-hidden", "mean"];

    [Test]
    public async Task Defaults_print_three_matrices_and_separations()
    {
        var run = await Lte.OnFixture("compare");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.Stderr);
        foreach (var pooling in DefaultPoolings)
            Assert.That(run.Stdout, Does.Contain($"{pooling} · mistral-instruct"));
        Assert.That(Regex.Matches(run.Stdout, @"separation = [+-]\d\.\d{4}").Count, Is.EqualTo(3));
        Assert.That(run.Stdout, Does.Contain("Q1: Where is the headquarter").And.Contain("Q2: What is GPU?"));
    }

    [Test]
    public async Task Json_has_three_2x2_results_whose_separation_is_diagonal_minus_off_diagonal()
    {
        var results = (await Lte.OnFixture("compare", "--format", "json")).Json().GetProperty("results");
        Assert.That(results.GetArrayLength(), Is.EqualTo(3));
        Assert.That(results.EnumerateArray().Select(r => r.GetProperty("pooling").GetString()), Is.EqualTo(DefaultPoolings));
        foreach (var result in results.EnumerateArray())
        {
            Assert.That(result.GetProperty("prompt").GetString(), Is.EqualTo("mistral-instruct"));
            var m = Matrix(result);
            Assert.That(m, Has.Length.EqualTo(2));
            Assert.That(m.Select(row => row.Length), Is.All.EqualTo(2));
            var expected = (m[0][0] + m[1][1]) / 2 - (m[0][1] + m[1][0]) / 2;
            Assert.That(result.GetProperty("separation").GetDouble(), Is.EqualTo(expected).Within(1e-6));
        }
    }

    [Test]
    public async Task Float32_matrices_match_the_transformers_reference()
    {
        // The default queries and documents are reference texts 0, 1 and 2, 3.
        var results = (await Lte.OnFixture("compare", "--format", "json", "--dtype", "float32")).Json().GetProperty("results");
        var reference = ReferenceData.Root.GetProperty("runs").GetProperty("float32").GetProperty("cosine_questions_x_answers");
        foreach (var result in results.EnumerateArray())
        {
            var key = "chat/" + result.GetProperty("pooling").GetString()!.Replace('-', '_');
            var m = Matrix(result);
            for (var q = 0; q < 2; q++)
            for (var a = 0; a < 2; a++)
                Assert.That(m[q][a], Is.EqualTo(reference.GetProperty(key)[q][a].GetDouble()).Within(1e-4), $"{key} [{q},{a}]");
        }
    }

    [Test]
    public async Task Repeated_pooling_and_prompt_options_give_every_combination()
    {
        var run = await Lte.OnFixture("compare", "--format", "json", "--pooling", "mean", "--pooling", "weighted-mean",
            "--prompt", "raw,e5-instruct", "--query", "a b c", "--query", "d e f", "--query", "g", "--document", "x", "--document", "y", "--document", "z");
        var results = run.Json().GetProperty("results").EnumerateArray().ToArray();
        Assert.That(results.Select(r => $"{r.GetProperty("pooling").GetString()}/{r.GetProperty("prompt").GetString()}"),
            Is.EqualTo(new[] { "mean/raw", "mean/e5-instruct", "weighted-mean/raw", "weighted-mean/e5-instruct" }));
        Assert.That(Matrix(results[0]), Has.Length.EqualTo(3));
    }

    [Test]
    public async Task Layer_skips_logits_pooling_with_a_note()
    {
        var run = await Lte.OnFixture("compare", "--format", "json", "--layer", "1");
        var results = run.Json().GetProperty("results");
        Assert.That(results.EnumerateArray().Select(r => r.GetProperty("pooling").GetString()), Is.EqualTo(new[] { "last-token-hidden", "mean" }));
        Assert.That(run.StderrLines, Has.One.Contains("last-token-logits"));
    }

    [Test]
    public async Task Unequal_query_and_document_counts_are_a_usage_error()
    {
        var run = await Lte.OnFixture("compare", "--query", "a", "--query", "b", "--document", "x");
        Assert.That(run.ExitCode, Is.EqualTo(2));
        Assert.That(run.StderrLines, Has.Length.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("--document").And.Contain("--query"));
    }

    private static double[][] Matrix(JsonElement result) =>
        result.GetProperty("matrix").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray();
}
