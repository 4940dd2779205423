using System.Text.Json;

namespace LastTokenEmbeddings.Tests.Cli;

/// <summary><c>lte rerank</c> on the Qwen3 fixture reproduces rerank-reference.json's scores, sorted, in its JSON contract.</summary>
public class RerankCommandTests
{
    [Test]
    public async Task Json_lists_results_by_score_with_the_reference_scores()
    {
        using var reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture("tiny-qwen3"), "rerank-reference.json")));
        var root = reference.RootElement;
        var documents = root.GetProperty("documents").EnumerateArray().Select(d => d.GetString()!).ToArray();
        var instruction = "Find passages about animals";
        var expected = root.GetProperty("scores").GetProperty(instruction).EnumerateArray().Select(e => e.GetDouble()).ToArray();
        string[] args = ["rerank", "--model", TestPaths.Fixture("tiny-qwen3"), "--dtype", "float32", "--query", root.GetProperty("query").GetString()!,
            "--instruction", instruction, "--format", "json", .. documents.SelectMany(d => new[] { "--document", d })];
        var json = (await Lte.Run(args)).Json();
        var results = json.GetProperty("results").EnumerateArray().Select(r => (Index: r.GetProperty("index").GetInt32(), Score: r.GetProperty("score").GetDouble())).ToArray();
        Assert.That(results.Select(r => r.Index), Is.EquivalentTo(Enumerable.Range(0, documents.Length)));
        Assert.That(results.Select(r => r.Score), Is.Ordered.Descending);
        foreach (var (index, score) in results)
            Assert.That(score, Is.EqualTo(expected[index]).Within(1e-4), $"document {index}");
    }

    [Test]
    public async Task A_query_is_required_and_a_model_without_the_tokens_is_an_error()
    {
        var missingQuery = await Lte.Run("rerank", "--model", TestPaths.Fixture("tiny-qwen3"), "--document", "x");
        Assert.That(missingQuery.ExitCode, Is.EqualTo(2));
        var bareModel = await Lte.Run("rerank", "--model", TestPaths.FixtureDirectory, "--query", "q", "--document", "d");
        Assert.That(bareModel.ExitCode, Is.EqualTo(1), "Mistral's vocabulary has no <|im_start|>: not a Qwen3-Reranker checkpoint");
        Assert.That(bareModel.StderrLines.Single(), Does.Contain("<|im_start|>").And.Contain("special token"));
    }
}
