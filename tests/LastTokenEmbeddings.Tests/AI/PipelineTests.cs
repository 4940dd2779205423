using System.Diagnostics;
using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.DependencyInjection;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LastTokenEmbeddings.Tests.AI;

/// <summary>
/// The registered generator inside a real Microsoft.Extensions.AI pipeline: OpenTelemetry (in-memory exporter),
/// logging and a distributed cache (memory-backed). Every registration's pooling counts forward passes, so cache hits
/// and misses are observed, not inferred.
/// </summary>
public class PipelineTests
{
    private const string TelemetrySource = "LastTokenEmbeddings.Tests.Pipeline";

    private static readonly string[] Texts = [ReferenceData.Text(0), ReferenceData.Text(1), ReferenceData.Text(2), ReferenceData.Text(3)];

    private static void Fixture(LastTokenEmbeddingsOptions o, IPoolingStrategy pooling, PromptFormat prompt)
    {
        o.ModelDirectory = TestPaths.FixtureDirectory;
        o.Load.DType = ComputeDType.Float32;
        o.Embedding.Pooling = pooling;
        o.Embedding.Prompt = prompt;
    }

    [Test]
    public async Task Telemetry_reports_operation_model_and_tokens_and_the_cache_serves_repeats()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(TelemetrySource).AddInMemoryExporter(spans).Build();
        var logs = new CollectingLoggerProvider();
        var counter = new ForwardCounter();
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        // The cache outside telemetry: spans and token counts then describe the model's real work (the caching stage
        // does not carry Usage through for calls of several inputs).
        services.AddLastTokenEmbeddings(o => Fixture(o, new CountingPooling(PoolingStrategies.Mean, counter), PromptFormat.E5Instruct()))
            .UseDistributedCache()
            .UseLogging()
            .UseOpenTelemetry(sourceName: TelemetrySource);
        await using var provider = services.BuildServiceProvider();
        var generator = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
        var model = provider.GetRequiredService<IEmbeddingModel>();

        var first = await generator.GenerateAsync(Texts);
        Assert.That(counter.Texts, Is.EqualTo(Texts.Length), "a cold cache embeds every text");
        var second = await generator.GenerateAsync(Texts);
        Assert.That(counter.Texts, Is.EqualTo(Texts.Length), "the repeat is served from the cache");
        for (var i = 0; i < Texts.Length; i++)
            Assert.That(second[i].Vector.ToArray(), Is.EqualTo(first[i].Vector.ToArray()), $"cached vector {i}");

        var expectedTokens = Texts.Sum(text => model.Tokenize(text, TextRole.Query).Length);
        Assert.That(spans, Has.Count.EqualTo(1), "one span for the model call; the repeat never reached the model");
        var span = spans[0];
        Assert.That(span.DisplayName, Is.EqualTo("embeddings tiny-mistral"));
        Assert.That(span.GetTagItem("gen_ai.operation.name"), Is.EqualTo("embeddings"));
        Assert.That(span.GetTagItem("gen_ai.request.model"), Is.EqualTo("tiny-mistral"));
        Assert.That(span.GetTagItem("gen_ai.response.model"), Is.EqualTo("tiny-mistral"));
        Assert.That(span.GetTagItem("gen_ai.provider.name"), Is.EqualTo(LastTokenEmbeddingGenerator.ProviderName));
        Assert.That(span.GetTagItem("gen_ai.embeddings.dimension.count"), Is.EqualTo(64));
        Assert.That(span.GetTagItem("gen_ai.usage.input_tokens"), Is.EqualTo(expectedTokens));
        Assert.That(logs.Messages, Has.Some.Contains("GenerateAsync"), "the logging stage ran");
    }

    [Test]
    public async Task Cache_entries_are_never_shared_across_roles_dimensions_instructions_poolings_prompts_or_models()
    {
        var counter = new ForwardCounter();
        var services = new ServiceCollection();
        services.AddDistributedMemoryCache();
        // Each registration differs from "mean" in one setting only, and all share one cache.
        services.AddKeyedLastTokenEmbeddings("mean", o => Fixture(o, new CountingPooling(PoolingStrategies.Mean, counter), PromptFormat.E5Instruct())).UseDistributedCache();
        services.AddKeyedLastTokenEmbeddings("last", o => Fixture(o, new CountingPooling(PoolingStrategies.LastTokenHidden, counter), PromptFormat.E5Instruct())).UseDistributedCache();
        services.AddKeyedLastTokenEmbeddings("chat", o => Fixture(o, new CountingPooling(PoolingStrategies.Mean, counter), PromptFormat.MistralInstruct)).UseDistributedCache();
        services.AddKeyedLastTokenEmbeddings("renamed", o =>
        {
            Fixture(o, new CountingPooling(PoolingStrategies.Mean, counter), PromptFormat.E5Instruct());
            o.Load.ModelId = "tiny-mistral-copy";
        }).UseDistributedCache();
        services.AddKeyedLastTokenEmbeddingGenerator("documents", TextRole.Document, modelKey: "mean").UseDistributedCache();
        await using var provider = services.BuildServiceProvider();
        IEmbeddingGenerator<string, Embedding<float>> Generator(string key) => provider.GetRequiredKeyedService<IEmbeddingGenerator<string, Embedding<float>>>(key);
        var mean = Generator("mean");

        async Task<GeneratedEmbeddings<Embedding<float>>> ExpectMiss(IEmbeddingGenerator<string, Embedding<float>> generator, EmbeddingGenerationOptions? options, string what)
        {
            var before = counter.Texts;
            var generated = await generator.GenerateAsync(Texts, options);
            Assert.That(counter.Texts - before, Is.EqualTo(Texts.Length), $"{what}: a different setting must not hit the cache");
            var again = await generator.GenerateAsync(Texts, options);
            Assert.That(counter.Texts - before, Is.EqualTo(Texts.Length), $"{what}: its repeat must hit");
            for (var i = 0; i < Texts.Length; i++)
                Assert.That(again[i].Vector.ToArray(), Is.EqualTo(generated[i].Vector.ToArray()), $"{what}: cached vector {i}");
            return generated;
        }

        var baseline = await ExpectMiss(mean, null, "baseline");
        var before = counter.Texts;
        await mean.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 64, ModelId = "tiny-mistral" }.WithRole(TextRole.Query));
        Assert.That(counter.Texts, Is.EqualTo(before), "spelling out the defaults is the same request");

        var documents = await ExpectMiss(mean, new EmbeddingGenerationOptions().WithRole(TextRole.Document), "role");
        Assert.That(documents[0].Vector.ToArray(), Is.Not.EqualTo(baseline[0].Vector.ToArray()), "E5 documents carry no instruction");
        var documentGenerator = await Generator("documents").GenerateAsync(Texts);
        Assert.That(counter.Texts, Is.EqualTo(before + Texts.Length), "a document generator's calls hit the document entries");
        Assert.That(documentGenerator[0].Vector.ToArray(), Is.EqualTo(documents[0].Vector.ToArray()));

        var truncated = await ExpectMiss(mean, new EmbeddingGenerationOptions { Dimensions = 32 }, "dimensions");
        Assert.That(truncated[0].Vector.Length, Is.EqualTo(32));
        await ExpectMiss(mean, new EmbeddingGenerationOptions().WithInstruction("Retrieve passages about animals"), "instruction");
        await ExpectMiss(mean, new EmbeddingGenerationOptions().WithTruncation(TruncationPolicy.Truncate, TruncationDirection.Left), "truncation direction");
        await ExpectMiss(Generator("last"), null, "pooling");
        await ExpectMiss(Generator("chat"), null, "prompt");
        var renamed = await ExpectMiss(Generator("renamed"), null, "model id");
        Assert.That(renamed[0].ModelId, Is.EqualTo("tiny-mistral-copy"));
    }

    [Test]
    public async Task A_hand_built_pipeline_from_the_model_keys_its_cache_the_same_way()
    {
        var counter = new ForwardCounter();
        using var query = EmbeddingFixture.View(new CountingPooling(PoolingStrategies.LastTokenHidden, counter), PromptFormat.E5Instruct());
        using var chat = EmbeddingFixture.View(new CountingPooling(PoolingStrategies.LastTokenHidden, counter), PromptFormat.MistralInstruct);
        var cache = new Microsoft.Extensions.Caching.Distributed.MemoryDistributedCache(
            Microsoft.Extensions.Options.Options.Create(new Microsoft.Extensions.Caching.Memory.MemoryDistributedCacheOptions()));
        using var e5Generator = query.AsEmbeddingGeneratorBuilder().UseDistributedCache(cache).Build();
        using var chatGenerator = chat.AsEmbeddingGeneratorBuilder().UseDistributedCache(cache).Build();

        await e5Generator.GenerateAsync(Texts);
        await e5Generator.GenerateAsync(Texts);
        Assert.That(counter.Texts, Is.EqualTo(Texts.Length));
        await chatGenerator.GenerateAsync(Texts);
        Assert.That(counter.Texts, Is.EqualTo(2 * Texts.Length), "same checkpoint and pooling, other prompt: no shared entries");
        Assert.That(e5Generator.GetService<IEmbeddingModel>(), Is.SameAs(query), "GetService reaches through the pipeline");
    }

    /// <summary>Keeps every formatted message.</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly List<string> messages = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (messages)
                    return [.. messages];
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void Dispose()
        {
        }

        private sealed class Logger(CollectingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.messages)
                    owner.messages.Add(formatter(state, exception));
            }
        }
    }
}
