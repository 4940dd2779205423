using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>
/// The README's quick start, line for line, on the vendored Qwen3-Embedding layout (the fixture directory instead of
/// the hub id, float32 so the numbers compare): the cosine it prints equals the one the transformers references give.
/// </summary>
public class ReadmeQuickStartTests
{
    [Test]
    public async Task Quick_start_prints_the_cosine_of_the_reference_vectors()
    {
        var reference = FixtureReference.Get("tiny-qwen3");
        var gpuDocument = reference.Text(3);
        Assert.That(gpuDocument, Does.StartWith("A graphics processing unit (GPU) is an electronic circuit"));

        using var model = EmbeddingModel.Load(TestPaths.Fixture("tiny-qwen3-embedding"), loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
        var query = await model.EmbedAsync("Where is the headquarter of OpenAI?", TextRole.Query);
        var docs = await model.EmbedAsync(["OpenAI is based at San Francisco.", gpuDocument], TextRole.Document);
        var printed = CosineSimilarity.Compute(query.Vector, docs[0].Vector);

        using var queryHidden = reference.Tensor("float32/embed_query/0/last_hidden_state");
        using var documentHidden = reference.Tensor("float32/embed_document/2/last_hidden_state");
        using var expected = nn.functional.cosine_similarity(queryHidden[-1].unsqueeze(0), documentHidden[-1].unsqueeze(0), dim: 1);
        Assert.That(printed, Is.EqualTo(expected.item<float>()).Within(1e-5));
        Assert.That(CosineSimilarity.Compute(query.Vector, docs[1].Vector), Is.Not.EqualTo(printed).Within(1e-3), "the two documents score differently");
    }
}
