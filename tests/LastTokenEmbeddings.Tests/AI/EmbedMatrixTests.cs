using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.AI;

public class EmbedMatrixTests
{
    [Test]
    public async Task A_calls_vectors_come_back_as_one_matrix_row_per_text()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        var texts = Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();
        var matrix = await model.EmbedMatrixAsync(texts, EmbeddingCallOptions.Document);
        var separate = await model.EmbedAsync(texts, EmbeddingCallOptions.Document);
        Assert.That(matrix.RowCount, Is.EqualTo(texts.Length));
        Assert.That(matrix.Dimensions, Is.EqualTo(64));
        Assert.That(matrix.Values.Length, Is.EqualTo(texts.Length * 64), "one contiguous buffer");
        for (var i = 0; i < texts.Length; i++)
            Assert.That(matrix.Row(i).ToArray(), Is.EqualTo(separate[i].Vector), $"row {i}");

        // The docs' top-k example: every document's nearest document is itself.
        var hits = CosineSimilarity.TopK(matrix, matrix, k: 3);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(hits[i][0].Index, Is.EqualTo(i));
            Assert.That(hits[i][0].Score, Is.EqualTo(1f).Within(1e-5));
        }

        var queries = await model.EmbedMatrixAsync([texts[2]]);
        Assert.That(queries.Row(0).ToArray(), Is.EqualTo((await model.EmbedAsync(texts[2], TextRole.Query)).Vector), "queries by default");
        Assert.That((await model.EmbedMatrixAsync([])).RowCount, Is.Zero);
    }
}
