using System.ClientModel;
using LastTokenEmbeddings.AspNetCore.Tests.Support;
using LastTokenEmbeddings.Embeddings;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Embeddings;

namespace LastTokenEmbeddings.AspNetCore.Tests;

/// <summary>The official OpenAI .NET SDK and Microsoft.Extensions.AI.OpenAI, over a real loopback socket.</summary>
public class OpenAIClientTests
{
    private const string Key = "sk-local-test-key";

    private ServerHost server = null!;

    [OneTimeSetUp]
    public async Task Start() => server = await ServerHost.StartAsync(Fixtures.TinyModel, o => o.ApiKey = Key, kestrel: true);

    [OneTimeTearDown]
    public async Task Stop() => await server.DisposeAsync();

    private EmbeddingClient Client(string model = "tiny-mistral", string key = Key) =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.Client.BaseAddress!, "v1") });

    [Test]
    public async Task The_OpenAI_sdk_gets_the_library_vectors()
    {
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts);
        ClientResult<OpenAIEmbeddingCollection> result = await Client().GenerateEmbeddingsAsync(Fixtures.Texts);

        Assert.That(result.Value.Model, Is.EqualTo("tiny-mistral"));
        Assert.That(result.Value.Usage.InputTokenCount, Is.EqualTo(expected.Sum(e => e.TokenCount)));
        Assert.That(result.Value, Has.Count.EqualTo(Fixtures.Texts.Length));
        foreach (var embedding in result.Value)
            Vectors.AssertClose(embedding.ToFloats().ToArray(), expected[embedding.Index].Vector, $"text {embedding.Index}");
    }

    [Test]
    public async Task The_OpenAI_sdk_sends_dimensions_and_token_ids()
    {
        using var cut = Fixtures.TinyModel.WithOptions(new EmbeddingOptions { Dimensions = 16 });
        var expected = await cut.EmbedAsync(Fixtures.Texts[..2]);
        var byText = await Client().GenerateEmbeddingsAsync(Fixtures.Texts[..2], new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 16 });
        var ids = Fixtures.Texts[..2].Select(text => new ReadOnlyMemory<int>(Fixtures.TinyModel.Tokenize(text))).ToArray();
        var byIds = await Client().GenerateEmbeddingsAsync(ids, new OpenAI.Embeddings.EmbeddingGenerationOptions { Dimensions = 16 });
        for (var i = 0; i < 2; i++)
        {
            Vectors.AssertClose(byText.Value[i].ToFloats().ToArray(), expected[i].Vector, $"text {i}");
            Vectors.AssertClose(byIds.Value[i].ToFloats().ToArray(), expected[i].Vector, $"ids {i}");
        }
    }

    [Test]
    public void The_OpenAI_sdk_surfaces_our_errors()
    {
        var wrongKey = Assert.ThrowsAsync<ClientResultException>(async () => await Client(key: "sk-wrong").GenerateEmbeddingAsync("x"));
        Assert.That(wrongKey!.Status, Is.EqualTo(401));
        var wrongModel = Assert.ThrowsAsync<ClientResultException>(async () => await Client(model: "text-embedding-3-large").GenerateEmbeddingAsync("x"));
        Assert.That(wrongModel!.Status, Is.EqualTo(404));
        Assert.That(wrongModel.Message, Does.Contain("does not exist"));
    }

    [Test]
    public async Task Microsoft_Extensions_AI_generator_gets_the_library_vectors()
    {
        using var generator = Client().AsIEmbeddingGenerator();
        var expected = await Fixtures.TinyModel.EmbedAsync(Fixtures.Texts);
        var generated = await generator.GenerateAsync(Fixtures.Texts);

        Assert.That(generated, Has.Count.EqualTo(Fixtures.Texts.Length));
        for (var i = 0; i < generated.Count; i++)
            Vectors.AssertClose(generated[i].Vector.ToArray(), expected[i].Vector, $"text {i}");
        Assert.That(generated.Usage?.InputTokenCount, Is.EqualTo(expected.Sum(e => e.TokenCount)));

        var cut = await generator.GenerateAsync(["What is GPU?"], new Microsoft.Extensions.AI.EmbeddingGenerationOptions { Dimensions = 8 });
        Assert.That(cut[0].Vector.Length, Is.EqualTo(8));
    }
}
