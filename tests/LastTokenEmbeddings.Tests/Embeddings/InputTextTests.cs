using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>Every kind of bad input text has a defined outcome: a finite vector or a clear exception.</summary>
public class InputTextTests
{
    private static EmbeddingModel Model(Action<EmbeddingOptions>? configure = null) =>
        EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct(), configure: configure);

    private static void AssertUnitVector(TextEmbedding embedding)
    {
        Assert.That(embedding.Vector.All(float.IsFinite), Is.True);
        Assert.That(Math.Sqrt(embedding.Vector.Sum(x => (double)x * x)), Is.EqualTo(1.0).Within(1e-4));
    }

    [Test]
    public void Null_text_or_list_or_element_throws_ArgumentNullException()
    {
        using var model = Model();
        Assert.That(() => model.EmbedAsync((string)null!), Throws.ArgumentNullException);
        Assert.That(() => model.EmbedAsync((IReadOnlyList<string>)null!), Throws.ArgumentNullException);
        Assert.That(() => model.EmbedAsync(["ok", null!]), Throws.ArgumentNullException.With.Message.Contains("texts[1]"));
        Assert.That(() => model.Tokenize(null!), Throws.ArgumentNullException);
    }

    [TestCase("")]
    [TestCase(" ")]
    [TestCase("\t\n  \r\n")]
    public async Task Empty_and_whitespace_texts_embed_the_format_tokens(string text)
    {
        using var model = Model();
        var embedding = await model.EmbedAsync(text);
        AssertUnitVector(embedding);
        Assert.That(embedding.TokenCount, Is.GreaterThanOrEqualTo(model.Prompt.GetFixedTokenCount(model.Tokenizer, TextRole.Query)));
    }

    [Test]
    public async Task Empty_list_returns_no_vectors()
    {
        using var model = Model();
        Assert.That(await model.EmbedAsync(Array.Empty<string>()), Is.Empty);
    }

    [Test]
    public async Task Lone_surrogates_embed_like_the_replacement_character()
    {
        using var model = Model();
        var broken = await model.EmbedAsync("abc\uD800def\uDC00");
        var replaced = await model.EmbedAsync("abc\uFFFDdef\uFFFD");
        AssertUnitVector(broken);
        Assert.That(broken.Vector, Is.EqualTo(replaced.Vector).Within(1e-6));
    }

    [Test]
    public async Task Control_characters_embed_through_byte_fallback()
    {
        using var model = Model();
        var text = "nul\0 bell\a esc\u001b del\u007f";
        AssertUnitVector(await model.EmbedAsync(text));
        Assert.That(model.Tokenize(text).Length, Is.GreaterThan(model.Tokenize("nul bell esc del").Length));
    }

    [Test]
    public async Task One_megabyte_text_is_truncated_to_the_token_limit()
    {
        using var model = Model();
        var text = string.Concat(Enumerable.Repeat("The llama is a domesticated South American camelid. ", 21_000))[..(1 << 20)];
        var embedding = await model.EmbedAsync(text);
        AssertUnitVector(embedding);
        Assert.That(embedding.TokenCount, Is.EqualTo(model.MaxTokens));
        Assert.That(embedding.Truncated, Is.True);
        Assert.That(model.Tokenize(text)[^1], Is.EqualTo(model.Tokenizer.EosId!.Value), "e5 keeps its EOS after truncation");
    }

    [Test]
    public async Task Ten_thousand_texts_embed_in_order_with_progress()
    {
        using var model = Model(o => o.MaxBatchTokens = 4096);
        var texts = Enumerable.Range(0, 10_000).Select(i => $"text number {i}").ToArray();
        var reports = 0;
        var results = await model.EmbedAsync(texts, progress: new Progress<EmbeddingProgress>(_ => Interlocked.Increment(ref reports)));
        Assert.That(results, Has.Count.EqualTo(10_000));
        var spot = await model.EmbedAsync(texts[1234]);
        Assert.That(results[1234].Vector, Is.EqualTo(spot.Vector).Within(1e-4));
        Assert.That(results.All(r => r.Vector.All(float.IsFinite)), Is.True);
    }
}
