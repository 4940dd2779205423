using LastTokenEmbeddings.DependencyInjection;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Checkpoints;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.Tests.DependencyInjection;

public class ServiceRegistrationTests
{
    [Test]
    public async Task Registered_model_and_generator_resolve_as_singletons_sharing_one_model()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o =>
        {
            o.ModelDirectory = TestPaths.FixtureDirectory;
            o.Load.DType = ComputeDType.Float32;
            o.Embedding.Pooling = PoolingStrategies.Mean;
        });
        await using var provider = services.BuildServiceProvider(validateScopes: true);
        var model = provider.GetRequiredService<IEmbeddingModel>();
        Assert.That(provider.GetRequiredService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(model.Pooling.Name, Is.EqualTo("mean"));
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        Assert.That(generator.GetService(typeof(IEmbeddingModel)), Is.SameAs(model));
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
        Assert.That(provider.GetService<IEmbeddingModel>(), Is.Null, "no unkeyed registration");
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
    public void Missing_model_directory_is_reported_at_startup_validation()
    {
        var services = new ServiceCollection();
        services.AddLastTokenEmbeddings(o => o.ModelDirectory = "");
        using var provider = services.BuildServiceProvider();
        // What a generic host runs at start-up (ValidateOnStart), before anything resolves the model.
        var startup = provider.GetRequiredService<IStartupValidator>();
        Assert.That(() => startup.Validate(), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("ModelDirectory is required"));
    }
}
