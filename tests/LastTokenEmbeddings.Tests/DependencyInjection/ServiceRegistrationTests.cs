using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.DependencyInjection;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.Tests.DependencyInjection;

public class ServiceRegistrationTests
{
    private static void Fixture(LastTokenEmbeddingsOptions o, IPoolingStrategy pooling, PromptFormat? prompt = null)
    {
        o.ModelDirectory = TestPaths.FixtureDirectory;
        o.Load.DType = ComputeDType.Float32;
        o.Embedding.Pooling = pooling;
        o.Embedding.Prompt = prompt;
    }

    [Test]
    public async Task Registered_model_and_generator_resolve_as_singletons_sharing_one_model()
    {
        var services = new ServiceCollection();
        var builder = services.AddLastTokenEmbeddings(o => Fixture(o, PoolingStrategies.Mean));
        Assert.That(builder, Is.InstanceOf<EmbeddingGeneratorBuilder<string, Embedding<float>>>());
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var model = provider.GetRequiredService<IEmbeddingModel>();
        Assert.That(provider.GetRequiredService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(model, Is.InstanceOf<EmbeddingModel>(), "consumers can still reach the tokenizer and config");
        Assert.That(model.Pooling.Name, Is.EqualTo("mean"));
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        Assert.That(provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>(), Is.SameAs(generator));
        Assert.That(provider.GetRequiredService<IEmbeddingGenerator>(), Is.SameAs(generator), "also registered untyped, as AddEmbeddingGenerator does");
        Assert.That(generator.GetService(typeof(IEmbeddingModel)), Is.SameAs(model));
        Assert.That(generator.GetService<EmbeddingGeneratorMetadata>()!.ProviderName, Is.EqualTo("LastTokenEmbeddings"));
        var fromGenerator = await generator.GenerateAsync(["Hello world!"]);
        var direct = await model.EmbedAsync("Hello world!");
        Assert.That(fromGenerator[0].Vector.ToArray(), Is.EqualTo(direct.Vector).Within(1e-6));
    }

    [Test]
    public async Task Keyed_registrations_hold_different_models()
    {
        var services = new ServiceCollection();
        services.AddKeyedLastTokenEmbeddings("hidden", o => { o.ModelDirectory = TestPaths.FixtureDirectory; o.Embedding.Pooling = PoolingStrategies.LastTokenHidden; });
        services.AddKeyedLastTokenEmbeddings("logits", o => { o.ModelDirectory = TestPaths.FixtureDirectory; o.Embedding.Pooling = PoolingStrategies.LastTokenLogits; });
        await using var provider = services.BuildServiceProvider();
        var hidden = provider.GetRequiredKeyedService<IEmbeddingModel>("hidden");
        var logits = provider.GetRequiredKeyedService<IEmbeddingModel>("logits");
        Assert.That(hidden, Is.Not.SameAs(logits));
        Assert.That(hidden.Dimensions, Is.EqualTo(64));
        Assert.That(logits.Dimensions, Is.EqualTo(32000));
        var generator = provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>("logits");
        Assert.That(generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions, Is.EqualTo(32000));
        Assert.That(provider.GetRequiredKeyedService<IEmbeddingGenerator>("logits"), Is.SameAs(generator));
        Assert.That(provider.GetService<IEmbeddingModel>(), Is.Null, "no unkeyed registration");
    }

    [Test]
    public async Task Keyed_query_and_document_generators_share_one_model_and_embed_their_role()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o => Fixture(o, PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct()));
        services.AddKeyedLastTokenEmbeddingGenerator("query", TextRole.Query);
        services.AddKeyedLastTokenEmbeddingGenerator("document", TextRole.Document);
        await using var provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<IEmbeddingModel>();
        var queries = provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>("query");
        var documents = provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>("document");
        Assert.That(queries.GetService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(documents.GetService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(documents.GetService<LastTokenEmbeddingGenerator>()!.Role, Is.EqualTo(TextRole.Document));

        var texts = new[] { ReferenceData.Text(0), ReferenceData.Text(5) };
        var asQueries = await queries.GenerateAsync(texts);
        var asDocuments = await documents.GenerateAsync(texts);
        var expectedQueries = await model.EmbedAsync(texts, EmbeddingCallOptions.Query);
        var expectedDocuments = await model.EmbedAsync(texts, EmbeddingCallOptions.Document);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(asQueries[i].Vector.ToArray(), Is.EqualTo(expectedQueries[i].Vector).Within(1e-5), $"query {i}");
            Assert.That(asDocuments[i].Vector.ToArray(), Is.EqualTo(expectedDocuments[i].Vector).Within(1e-5), $"document {i}");
            Assert.That(asQueries[i].Vector.ToArray(), Is.Not.EqualTo(asDocuments[i].Vector.ToArray()), $"text {i}: E5 treats the roles differently");
        }
        Assert.That(() => new ServiceCollection().AddKeyedLastTokenEmbeddingGenerator("x", (TextRole)9), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task Disposing_a_resolved_model_is_harmless_and_the_container_frees_it()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o => Fixture(o, PoolingStrategies.Mean));
        var provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<IEmbeddingModel>();
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var expected = (await model.EmbedAsync("Hello world!")).Vector;

        // Consumers' mistakes: disposing what they resolved, through any path.
        using (provider.GetRequiredService<IEmbeddingModel>())
        {
        }
        generator.GetService<IEmbeddingModel>()!.Dispose();
        model.Dispose();
        Assert.That((await model.EmbedAsync("Hello world!")).Vector, Is.EqualTo(expected), "the model still serves its consumers");
        Assert.That((await generator.GenerateAsync(["Hello world!"]))[0].Vector.ToArray(), Is.EqualTo(expected).Within(1e-6));

        // A view a consumer makes is its own: disposing it leaves the shared model alone.
        var own = ((EmbeddingModel)model).WithOptions(new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenHidden });
        own.Dispose();
        Assert.That(() => own.Embed(["x"]), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That((await model.EmbedAsync("Hello world!")).Vector, Is.EqualTo(expected));

        await provider.DisposeAsync();
        Assert.That(async () => await model.EmbedAsync("Hello world!"), Throws.InstanceOf<ObjectDisposedException>(),
            "the container's disposal released the last reference to the weights");
    }

    [Test]
    public async Task Invalid_options_fail_with_messages_naming_each_option()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o =>
        {
            o.ModelDirectory = "/no/such/model";
            o.Embedding.MaxBatchSize = 0;
            o.Embedding.Dimensions = -1;
        });
        await using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IEmbeddingModel>())!;
        Assert.That(error.Failures, Has.Some.Contains("/no/such/model"));
        Assert.That(error.Failures, Has.Some.Contains("MaxBatchSize"));
        Assert.That(error.Failures, Has.Some.Contains("Dimensions"));
    }

    [Test]
    public async Task Missing_model_directory_is_reported_at_startup_validation()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o => o.ModelDirectory = "");
        await using var provider = services.BuildServiceProvider();
        // What a generic host runs at start-up (ValidateOnStart), before anything resolves the model.
        var startup = provider.GetRequiredService<IAsyncStartupValidator>();
        Assert.That(async () => await startup.ValidateAsync(CancellationToken.None),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("ModelDirectory is required"));
    }
}
