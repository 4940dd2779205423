using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>The README's quick start, line for line, on the vendored model.</summary>
public class ReadmeQuickStartTests
{
    [Test]
    public async Task Quick_start_runs_as_written()
    {
        using var model = EmbeddingModel.Load(TestPaths.FixtureDirectory,
            new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenHidden, Prompt = PromptFormat.E5Instruct() });
        var query = await model.EmbedAsync("Where is the headquarter of OpenAI?", TextRole.Query);
        var docs = await model.EmbedAsync(["OpenAI is based at San Francisco.", "A GPU is an electronic circuit."], TextRole.Document);
        var similarity = CosineSimilarity.Compute(query.Vector, docs[0].Vector);
        Assert.That(similarity, Is.InRange(-1f, 1f));
        Assert.That(docs.Select(d => d.TokenCount), Is.All.GreaterThan(2));
        Assert.That(model.Tokenize("a", TextRole.Document)[^1], Is.EqualTo(model.Tokenizer.EosId!.Value), "documents end with EOS in the E5 format");
    }
}
