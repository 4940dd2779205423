using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>Through the public API alone, the fixture reproduces transformers' pooled vectors and cosine matrices.</summary>
public class ReferenceEmbeddingTests
{
    private const double Tolerance = 1e-4;
    private static readonly string[] Strategies = ["last_token_logits", "last_token_hidden", "mean"];

    private static IEnumerable<TestCaseData> Runs() =>
        from mode in ReferenceData.Modes
        from strategy in Strategies
        select new TestCaseData(mode, strategy).SetName($"{mode}/{strategy}");

    [TestCaseSource(nameof(Runs))]
    public async Task Question_answer_cosine_matrix_matches_transformers(string mode, string strategy)
    {
        var expected = ReferenceData.Root.GetProperty("runs").GetProperty("float32").GetProperty("cosine_questions_x_answers")
            .GetProperty($"{mode}/{strategy}");
        using var model = EmbeddingFixture.View(EmbeddingFixture.PoolingFor(strategy), EmbeddingFixture.PromptFor(mode));
        var questions = await model.EmbedAsync([ReferenceData.Text(0), ReferenceData.Text(1)]);
        var answers = await model.EmbedAsync([ReferenceData.Text(2), ReferenceData.Text(3)]);
        var matrix = CosineSimilarity.Matrix(questions.Select(e => e.Vector).ToArray(), answers.Select(e => e.Vector).ToArray());
        for (var q = 0; q < 2; q++)
        for (var a = 0; a < 2; a++)
            Assert.That(matrix[q, a], Is.EqualTo(expected[q][a].GetDouble()).Within(Tolerance), $"[{q},{a}]");
    }

    [TestCaseSource(nameof(Runs))]
    public async Task Every_pooled_vector_matches_the_reference_tensors(string mode, string strategy)
    {
        using var model = EmbeddingFixture.View(EmbeddingFixture.PoolingFor(strategy), EmbeddingFixture.PromptFor(mode), normalize: false);
        var texts = Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();
        var embeddings = await model.EmbedAsync(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(model.Tokenize(texts[i]), Is.EqualTo(ReferenceData.Ids(mode, i).Select(id => (int)id).ToArray()), $"ids of text {i}");
            using var scope = NewDisposeScope();
            var expected = ExpectedPooled(mode, i, strategy);
            Assert.That(embeddings[i].TokenCount, Is.EqualTo(ReferenceData.Ids(mode, i).Length));
            Assert.That(ReferenceData.MaxAbsDiff(tensor(embeddings[i].Vector), expected), Is.LessThanOrEqualTo(Tolerance), $"text {i}");
        }
    }

    [Test]
    public async Task Normalized_vectors_are_unit_length_and_parallel_to_the_raw_ones()
    {
        using var raw = EmbeddingFixture.View(EmbeddingFixture.PoolingFor("mean"), PromptFormat.Raw, normalize: false);
        using var unit = EmbeddingFixture.View(EmbeddingFixture.PoolingFor("mean"), PromptFormat.Raw);
        var a = (await raw.EmbedAsync(ReferenceData.Text(5))).Vector;
        var b = (await unit.EmbedAsync(ReferenceData.Text(5))).Vector;
        Assert.That(Math.Sqrt(b.Sum(x => (double)x * x)), Is.EqualTo(1.0).Within(1e-5));
        Assert.That(Math.Sqrt(a.Sum(x => (double)x * x)), Is.Not.EqualTo(1.0).Within(1e-3), "the raw vector is not unit length");
        Assert.That(CosineSimilarity.Compute(a, b), Is.EqualTo(1f).Within(1e-5));
    }

    [Test]
    public async Task Dimensions_truncate_before_normalizing()
    {
        using var full = EmbeddingFixture.View(EmbeddingFixture.PoolingFor("last_token_hidden"), PromptFormat.Raw, normalize: false);
        using var cut = EmbeddingFixture.View(EmbeddingFixture.PoolingFor("last_token_hidden"), PromptFormat.Raw, configure: o => o.Dimensions = 16);
        Assert.That(cut.Dimensions, Is.EqualTo(16));
        var raw = (await full.EmbedAsync(ReferenceData.Text(0))).Vector;
        var truncated = (await cut.EmbedAsync(ReferenceData.Text(0))).Vector;
        var norm = Math.Sqrt(raw.Take(16).Sum(x => (double)x * x));
        Assert.That(truncated, Is.EqualTo(raw.Take(16).Select(x => (float)(x / norm)).ToArray()).Within(1e-5));
    }

    /// <summary>The pooled vector derived from transformers' outputs, as the fixture README defines it.</summary>
    internal static Tensor ExpectedPooled(string mode, int index, string strategy) => strategy switch
    {
        "last_token_logits" => ReferenceData.Tensor($"float32/{mode}/{index}/logits_last"),
        "last_token_hidden" => ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state")[-1],
        "mean" => ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state").mean([0L]),
        _ => throw new ArgumentOutOfRangeException(nameof(strategy)),
    };
}
