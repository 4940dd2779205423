using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tests.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Tests.AI;

public class LastTokenEmbeddingGeneratorTests
{
    private static readonly string[] Texts = [ReferenceData.Text(0), ReferenceData.Text(4), ReferenceData.Text(10)];

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
        Assert.That(generated.Usage.TotalTokenCount, Is.EqualTo(expectedTokens));

        var metadata = generator.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.That(metadata.ProviderName, Is.EqualTo("LastTokenEmbeddings"));
        Assert.That(metadata.DefaultModelId, Is.EqualTo("tiny-mistral"));
        Assert.That(metadata.DefaultModelDimensions, Is.EqualTo(64));
        Assert.That(generator.GetService<IEmbeddingModel>(), Is.SameAs(model));
        Assert.That(generator.GetService<EmbeddingModel>(), Is.SameAs(model));
        Assert.That(generator.GetService<LastTokenEmbeddingGenerator>(), Is.SameAs(generator));
        var options = generator.GetService<EmbeddingOptions>()!;
        Assert.That(options.Pooling, Is.SameAs(PoolingStrategies.LastTokenHidden));
        Assert.That(options.Prompt, Is.SameAs(PromptFormat.MistralInstruct));
        Assert.That(generator.GetService<EmbeddingOptions>(), Is.Not.SameAs(options), "a copy each time");
        Assert.That(generator.GetService(typeof(IEmbeddingModel), serviceKey: "other"), Is.Null);
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

    private static IEnumerable<TestCaseData> PerCallSettings()
    {
        yield return new TestCaseData(new EmbeddingGenerationOptions().WithRole(TextRole.Document), EmbeddingCallOptions.Document).SetArgDisplayNames("document role");
        yield return new TestCaseData(new EmbeddingGenerationOptions().WithRole(TextRole.Query), EmbeddingCallOptions.Query).SetArgDisplayNames("query role");
        yield return new TestCaseData(new EmbeddingGenerationOptions().WithInstruction("Retrieve passages about animals"),
            new EmbeddingCallOptions { Instruction = "Retrieve passages about animals" }).SetArgDisplayNames("instruction");
        yield return new TestCaseData(new EmbeddingGenerationOptions().WithRole(TextRole.Document).WithTruncation(TruncationPolicy.Truncate, TruncationDirection.Left),
            new EmbeddingCallOptions { Role = TextRole.Document, Truncation = TruncationPolicy.Truncate, TruncationDirection = TruncationDirection.Left })
            .SetArgDisplayNames("left truncation");
    }

    [TestCaseSource(nameof(PerCallSettings))]
    public async Task Per_call_settings_equal_the_model_with_the_same_call_options(EmbeddingGenerationOptions options, EmbeddingCallOptions call)
    {
        // MaxTokens 48 cuts text 10 (about 420 tokens), so the truncation direction matters.
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct(), configure: o => o.MaxTokens = 48);
        using var generator = model.AsIEmbeddingGenerator();
        var generated = await generator.GenerateAsync(Texts, options);
        var direct = await model.EmbedAsync(Texts, call);
        for (var i = 0; i < Texts.Length; i++)
            Assert.That(generated[i].Vector.ToArray(), Is.EqualTo(direct[i].Vector).Within(1e-5), $"text {i}");
        Assert.That(generated.Usage!.InputTokenCount, Is.EqualTo(direct.Sum(result => result.TokenCount)));
        var queries = await model.EmbedAsync(Texts, EmbeddingCallOptions.Query);
        Assert.That(queries[0].Vector, call == EmbeddingCallOptions.Query ? Is.EqualTo(direct[0].Vector) : Is.Not.EqualTo(direct[0].Vector),
            "the setting changes the vectors (or is the default)");
    }

    [Test]
    public async Task A_declared_prompt_name_per_call_equals_the_model_with_that_prompt_name()
    {
        // tiny-mistral plus the prompts a sentence-transformers checkpoint declares (files linked, not copied).
        var directory = Directory.CreateTempSubdirectory("lte-prompts-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(TestPaths.FixtureDirectory).Where(f => !Path.GetFileName(f).StartsWith("reference", StringComparison.Ordinal)))
                File.CreateSymbolicLink(Path.Combine(directory, Path.GetFileName(file)), file);
            await File.WriteAllTextAsync(Path.Combine(directory, "config_sentence_transformers.json"),
                """{"prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": null}""");
            // Mean pooling: the prompt tokens count in it (the last token of a long text is beyond the sliding window of them).
            using var model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = PoolingStrategies.Mean },
                new ModelLoadOptions { DType = ComputeDType.Float32 });
            using var generator = model.AsIEmbeddingGenerator(TextRole.Document);
            var generated = await generator.GenerateAsync(Texts, new EmbeddingGenerationOptions().WithPromptName("query"));
            var direct = await model.EmbedAsync(Texts, new EmbeddingCallOptions { Role = TextRole.Document, PromptName = "query" });
            var documents = await model.EmbedAsync(Texts, EmbeddingCallOptions.Document);
            for (var i = 0; i < Texts.Length; i++)
            {
                Assert.That(generated[i].Vector.ToArray(), Is.EqualTo(direct[i].Vector).Within(1e-5), $"text {i}");
                Assert.That(generated[i].Vector.ToArray(), Is.Not.EqualTo(documents[i].Vector), $"text {i} got the query prompt, not the document one");
            }
            Assert.That(async () => await generator.GenerateAsync(Texts, new EmbeddingGenerationOptions().WithPromptName("passage")),
                Throws.ArgumentException.With.Message.Contains("declares no prompt 'passage'"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task The_default_role_applies_when_a_call_names_none()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        using var documents = model.AsIEmbeddingGenerator(TextRole.Document);
        var generated = await documents.GenerateAsync(Texts);
        var direct = await model.EmbedAsync(Texts, EmbeddingCallOptions.Document);
        for (var i = 0; i < Texts.Length; i++)
            Assert.That(generated[i].Vector.ToArray(), Is.EqualTo(direct[i].Vector).Within(1e-5), $"text {i}");
        var asQueries = await documents.GenerateAsync(Texts, new EmbeddingGenerationOptions().WithRole(TextRole.Query));
        Assert.That(asQueries[0].Vector.ToArray(), Is.EqualTo((await model.EmbedAsync(Texts[0], TextRole.Query)).Vector).Within(1e-5), "the call's role wins");
    }

    [Test]
    public void Unknown_setting_values_are_refused_with_the_entry_named()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.E5Instruct());
        using var generator = model.AsIEmbeddingGenerator();
        var options = new EmbeddingGenerationOptions { AdditionalProperties = new() { ["lte.role"] = "passage" } };
        Assert.That(async () => await generator.GenerateAsync(["x"], options),
            Throws.ArgumentException.With.Message.Contains("'lte.role'").And.Message.Contains("query, document"));
        var typed = new EmbeddingGenerationOptions { AdditionalProperties = new() { ["lte.role"] = TextRole.Document } };
        Assert.That(typed.ToEmbeddingCallOptions(TextRole.Query).Role, Is.EqualTo(TextRole.Document), "the enum itself is accepted too");
        Assert.That(() => new EmbeddingGenerationOptions().WithInstruction(" "), Throws.ArgumentException);
        Assert.That(() => new EmbeddingGenerationOptions().WithRole((TextRole)7), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    [NonParallelizable]
    public async Task Concurrent_query_and_document_calls_share_a_forward_pass_and_equal_separate_calls()
    {
        var counter = new ForwardCounter();
        using var gate = new GatedPooling();
        using var blocker = EmbeddingFixture.View(gate, PromptFormat.Raw);
        using var model = EmbeddingFixture.View(new CountingPooling(PoolingStrategies.LastTokenHidden, counter), PromptFormat.E5Instruct());
        using var queries = model.AsIEmbeddingGenerator(TextRole.Query);
        using var documents = model.AsIEmbeddingGenerator(TextRole.Document);
        // Short texts only: they pack into one row, so one pass can hold both calls.
        string[] texts = [ReferenceData.Text(0), ReferenceData.Text(1), ReferenceData.Text(2), ReferenceData.Text(3)];
        var separateQueries = await queries.GenerateAsync(texts);
        var separateDocuments = await documents.GenerateAsync(texts);
        counter.Reset();

        // Hold the forward thread so both calls queue, then let them run together.
        var blocking = blocker.EmbedAsync("hold the forward thread");
        gate.WaitUntilEntered();
        var queryCall = queries.GenerateAsync(texts);
        var documentCall = documents.GenerateAsync(texts);
        Assert.That(model.QueuedRequests, Is.EqualTo(3), "both calls queued behind the running pass");
        gate.Release();
        var together = await Task.WhenAll(queryCall, documentCall).WaitAsync(TimeSpan.FromSeconds(60));
        await blocking.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.That(counter.Passes, Is.EqualTo(1), "query and document texts shared one forward pass");
        Assert.That(counter.Texts, Is.EqualTo(2 * texts.Length));
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(together[0][i].Vector.ToArray(), Is.EqualTo(separateQueries[i].Vector.ToArray()).Within(1e-5), $"query {i}");
            Assert.That(together[1][i].Vector.ToArray(), Is.EqualTo(separateDocuments[i].Vector.ToArray()).Within(1e-5), $"document {i}");
        }
    }
}
