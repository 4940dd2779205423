using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Tests.AI;

public class LastTokenEmbeddingGeneratorTests
{
    [Test]
    public async Task Generates_model_vectors_reports_tokens_and_metadata()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct);
        using var generator = new LastTokenEmbeddingGenerator(model);
        var texts = new[] { ReferenceData.Text(0), ReferenceData.Text(1) };
        var generated = await generator.GenerateAsync(texts);
        var direct = await model.EmbedAsync(texts);
        Assert.That(generated, Has.Count.EqualTo(2));
        for (var i = 0; i < 2; i++)
        {
            Assert.That(generated[i].Vector.ToArray(), Is.EqualTo(direct[i].Vector).Within(1e-6));
            Assert.That(generated[i].ModelId, Is.EqualTo(model.ModelId));
        }
        var expectedTokens = ReferenceData.Ids("chat", 0).Length + ReferenceData.Ids("chat", 1).Length;
        Assert.That(generated.Usage!.InputTokenCount, Is.EqualTo(expectedTokens));

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.That(metadata.ProviderName, Is.EqualTo("LastTokenEmbeddings"));
        Assert.That(metadata.DefaultModelId, Is.EqualTo("tiny-mistral"));
        Assert.That(metadata.DefaultModelDimensions, Is.EqualTo(64));
        Assert.That(generator.GetService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(generator.GetService<EmbeddingModel>(), Is.SameAs(model));
    }

    [Test]
    public async Task Dimensions_option_equals_a_model_configured_with_those_dimensions()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        using var truncatedModel = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => o.Dimensions = 24);
        using var generator = new LastTokenEmbeddingGenerator(model);
        var generated = await generator.GenerateAsync(["Hello world!"], new EmbeddingGenerationOptions { Dimensions = 24 });
        var expected = await truncatedModel.EmbedAsync("Hello world!");
        Assert.That(generated[0].Vector.Length, Is.EqualTo(24));
        Assert.That(generated[0].Vector.ToArray(), Is.EqualTo(expected.Vector).Within(1e-5));
        Assert.That(async () => await generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 65 }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
