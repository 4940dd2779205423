using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>An empty text under a format that adds no token (raw on a tokenizer without BOS) is refused clearly, not sent to the model as nothing.</summary>
public class EmptyInputTests
{
    [Test]
    public void An_empty_text_with_no_tokens_at_all_is_an_argument_error()
    {
        using var model = EmbeddingModel.Load(TestPaths.Fixture("tiny-qwen3"), new EmbeddingOptions { Prompt = PromptFormat.Raw }, new ModelLoadOptions { DType = ComputeDType.Float32 });
        Assert.That(model.Tokenize(""), Is.Empty);
        var error = Assert.ThrowsAsync<ArgumentException>(async () => await model.EmbedAsync(["fine", ""]))!;
        Assert.That(error.Message, Does.Contain("texts[1]").And.Contain("no tokens"));
        Assert.That(model.Embed(["fine"]), Has.Count.EqualTo(1), "the model stays usable");
        using var qwen = model.WithOptions(new EmbeddingOptions { Prompt = PromptFormat.Qwen3Embedding() });
        Assert.That(qwen.Embed([""], TextRole.Document)[0].TokenCount, Is.EqualTo(1), "<|endoftext|> alone");
    }
}
