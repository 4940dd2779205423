using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>Batching, threads, progress and cancellation never change the vectors.</summary>
public class BatchingAndConcurrencyTests
{
    private static string[] AllTexts() => Enumerable.Range(0, ReferenceData.TextCount).Select(ReferenceData.Text).ToArray();

    private static IEnumerable<IPoolingStrategy> Strategies() =>
        [PoolingStrategies.LastTokenLogits, PoolingStrategies.LastTokenHidden, PoolingStrategies.Mean, PoolingStrategies.WeightedMean, new MeanPooling(layer: 1)];

    [TestCaseSource(nameof(Strategies))]
    public async Task Batched_results_equal_one_at_a_time_in_input_order(IPoolingStrategy pooling)
    {
        using var model = EmbeddingFixture.View(pooling, PromptFormat.MistralInstruct, normalize: false);
        var texts = AllTexts();
        var batched = await model.EmbedAsync(texts);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = await model.EmbedAsync(texts[i]);
            Assert.That(batched[i].Vector, Is.EqualTo(alone.Vector).Within(1e-4), $"text {i}");
            Assert.That(batched[i].TokenCount, Is.EqualTo(alone.TokenCount));
        }
    }

    [Test]
    public void Token_budget_splits_into_several_batches_without_changing_results()
    {
        using var wide = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        using var narrow = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => { o.MaxBatchTokens = 64; o.MaxBatchSize = 3; });
        var texts = AllTexts();
        var reports = new List<EmbeddingProgress>();
        var a = wide.Embed(texts);
        var b = narrow.Embed(texts, progress: new SynchronousProgress(reports));
        Assert.That(reports.Count, Is.GreaterThan(3), "several batches");
        Assert.That(reports[^1].CompletedTexts, Is.EqualTo(texts.Length));
        Assert.That(reports.Select(r => r.CompletedTexts), Is.Ordered.Ascending);
        for (var i = 0; i < texts.Length; i++)
            Assert.That(b[i].Vector, Is.EqualTo(a[i].Vector).Within(1e-5));
    }

    [Test]
    public async Task Sixteen_threads_give_the_same_vectors_as_one()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct);
        var texts = AllTexts();
        var expected = model.Embed(texts);
        var tasks = Enumerable.Range(0, 16).Select(thread => Task.Run(async () =>
        {
            var text = thread % texts.Length;
            var single = await model.EmbedAsync(texts[text]);
            var many = await model.EmbedAsync(texts);
            return (text, single, many);
        }));
        foreach (var (text, single, many) in await Task.WhenAll(tasks))
        {
            Assert.That(single.Vector, Is.EqualTo(expected[text].Vector).Within(1e-5));
            for (var i = 0; i < texts.Length; i++)
                Assert.That(many[i].Vector, Is.EqualTo(expected[i].Vector).Within(1e-5));
        }
    }

    [Test]
    public void Cancellation_stops_between_batches_and_leaves_the_model_usable()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => o.MaxBatchSize = 1);
        using var cancellation = new CancellationTokenSource();
        var texts = AllTexts();
        var progress = new SynchronousProgress([], report => { if (report.CompletedTexts == 2) cancellation.Cancel(); });
        Assert.That(() => model.Embed(texts, progress: progress, cancellationToken: cancellation.Token), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(progress.Reports, Has.Count.EqualTo(2), "no batch after cancellation");
        Assert.That(async () => await model.EmbedAsync(texts, cancellationToken: new CancellationToken(true)), Throws.InstanceOf<OperationCanceledException>());
        Assert.That(model.Embed(texts), Has.Count.EqualTo(texts.Length), "still usable");
    }

    [Test]
    public void Truncate_keeps_the_format_suffix_and_throw_policy_throws()
    {
        using var truncating = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct, configure: o => o.MaxTokens = 32);
        var longText = ReferenceData.Text(10);
        var ids = truncating.Tokenize(longText);
        Assert.That(ids, Has.Length.EqualTo(32));
        Assert.That(ids[^4..], Is.EqualTo(new[] { 733, 28748, 16289, 28793 }), "[/INST] kept");
        var embedding = truncating.Embed([longText])[0];
        Assert.That(embedding.Truncated, Is.True);
        Assert.That(embedding.TokenCount, Is.EqualTo(32));

        using var strict = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct,
            configure: o => { o.MaxTokens = 32; o.Truncation = TruncationPolicy.Throw; });
        Assert.That(() => strict.Embed([longText]), Throws.InstanceOf<InputTooLongException>());
        Assert.That(strict.Embed([ReferenceData.Text(0)])[0].Truncated, Is.False);
    }

    [Test]
    public void Default_token_limit_is_max_position_embeddings()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        Assert.That(model.MaxTokens, Is.EqualTo(512));
        var huge = string.Join(' ', Enumerable.Repeat("word", 2000));
        var result = model.Embed([huge])[0];
        Assert.That(result.TokenCount, Is.EqualTo(512));
        Assert.That(result.Truncated, Is.True);
    }

    [Test]
    public void Disposed_view_throws_and_other_views_keep_working()
    {
        var first = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        using var second = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        first.Dispose();
        first.Dispose();
        Assert.That(() => first.Embed(["a"]), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(async () => await first.EmbedAsync("a"), Throws.InstanceOf<ObjectDisposedException>());
        Assert.That(second.Embed(["a"]), Has.Count.EqualTo(1));
    }

    [Test]
    public void Logits_pooling_reports_vocabulary_dimension_and_bad_layer_is_rejected()
    {
        using var logits = EmbeddingFixture.View(PoolingStrategies.LastTokenLogits, PromptFormat.Raw);
        Assert.That(logits.Dimensions, Is.EqualTo(32000));
        Assert.That(() => EmbeddingFixture.View(new MeanPooling(layer: 3), PromptFormat.Raw), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => o.Dimensions = 65), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => o.MaxBatchTokens = 0), Throws.ArgumentException.With.Message.Contains("MaxBatchTokens"));
    }

    [Test]
    public void Layer_zero_mean_is_the_mean_token_embedding()
    {
        using var model = EmbeddingFixture.View(new MeanPooling(layer: 0), PromptFormat.Raw, normalize: false);
        using var expected = ReferenceData.Tensor("float32/raw/0/hidden_states_all_layers");
        using var mean = expected[0].mean([0L]);
        Assert.That(model.Embed([ReferenceData.Text(0)])[0].Vector, Is.EqualTo(mean.data<float>().ToArray()).Within(1e-5));
    }

    /// <summary>Reports on the calling thread, unlike <see cref="Progress{T}"/>.</summary>
    private sealed class SynchronousProgress(List<EmbeddingProgress> reports, Action<EmbeddingProgress>? onReport = null) : IProgress<EmbeddingProgress>
    {
        public List<EmbeddingProgress> Reports => reports;

        public void Report(EmbeddingProgress value)
        {
            reports.Add(value);
            onReport?.Invoke(value);
        }
    }
}
