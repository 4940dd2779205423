using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>Per-call role, instruction, declared prompt and truncation.</summary>
public class CallOptionsTests
{
    [Test]
    public async Task A_per_call_instruction_equals_a_view_built_with_it()
    {
        const string task = "Find passages about animals";
        using var e5 = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        using var dedicated = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct(task));
        var texts = new[] { ReferenceData.Text(0), ReferenceData.Text(1) };
        var perCall = await e5.EmbedAsync(texts, new EmbeddingCallOptions { Instruction = task });
        var viewed = await dedicated.EmbedAsync(texts);
        for (var i = 0; i < texts.Length; i++)
            Assert.That(perCall[i].Vector, Is.EqualTo(viewed[i].Vector).Within(1e-5));
        Assert.That(e5.Tokenize(texts[0], new EmbeddingCallOptions { Instruction = task }), Is.EqualTo(dedicated.Tokenize(texts[0])));
        Assert.That(e5.Tokenize(texts[0], EmbeddingCallOptions.Document), Is.EqualTo(dedicated.Tokenize(texts[0], TextRole.Document)), "documents have no instruction");
    }

    [Test]
    public async Task Calls_with_different_roles_give_the_vectors_of_their_role()
    {
        using var e5 = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.E5Instruct());
        var text = ReferenceData.Text(2);
        var calls = await Task.WhenAll(
            e5.EmbedAsync([text], EmbeddingCallOptions.Query),
            e5.EmbedAsync([text], EmbeddingCallOptions.Document));
        Assert.That(calls[0][0].Vector, Is.EqualTo(e5.Embed([text], TextRole.Query)[0].Vector).Within(1e-5));
        Assert.That(calls[1][0].Vector, Is.EqualTo(e5.Embed([text], TextRole.Document)[0].Vector).Within(1e-5));
        Assert.That(calls[0][0].TokenCount, Is.GreaterThan(calls[1][0].TokenCount), "the query carries the instruction");
    }

    [Test]
    public void Left_truncation_keeps_the_template_and_the_end_of_the_text()
    {
        using var chat = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct, configure: o => o.MaxTokens = 40);
        var text = ReferenceData.Text(10);
        var full = ReferenceData.Ids("chat", 10).Select(id => (int)id).ToArray(); // BOS [INST] ... [/INST]
        var ids = chat.Tokenize(text, new EmbeddingCallOptions { TruncationDirection = TruncationDirection.Left });
        Assert.That(ids, Has.Length.EqualTo(40));
        Assert.That(ids[..4], Is.EqualTo(full[..4]), "BOS and the [INST] tokens");
        Assert.That(ids[^20..], Is.EqualTo(full[^20..]), "the text's last tokens and [/INST]");
        var right = chat.Tokenize(text, EmbeddingCallOptions.Query);
        Assert.That(right[..20], Is.EqualTo(full[..20]), "right truncation keeps the start");
        Assert.That(right[^4..], Is.EqualTo(full[^4..]), "and the closing tag");
    }

    [Test]
    public void Truncation_policy_can_be_tightened_per_call()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw, configure: o => o.MaxTokens = 16);
        var text = ReferenceData.Text(10);
        Assert.That(model.Embed([text])[0].Truncated, Is.True);
        Assert.That(() => model.Embed([text], new EmbeddingCallOptions { Truncation = TruncationPolicy.Throw }), Throws.InstanceOf<InputTooLongException>());
    }

    [Test]
    public void Prompt_names_and_instructions_that_do_not_apply_are_refused()
    {
        using var raw = EmbeddingFixture.View(PoolingStrategies.Mean, PromptFormat.Raw);
        Assert.That(() => raw.Embed(["a"], new EmbeddingCallOptions { PromptName = "query" }),
            Throws.ArgumentException.With.Message.Contains("declares no prompts"));
        Assert.That(() => raw.Embed(["a"], new EmbeddingCallOptions { Instruction = "x" }),
            Throws.InvalidOperationException.With.Message.Contains("'raw' prompt format has no instruction"));
    }

    [Test]
    public async Task Token_ids_embed_as_given_and_bad_ids_are_refused()
    {
        using var model = EmbeddingFixture.View(PoolingStrategies.LastTokenHidden, PromptFormat.MistralInstruct, normalize: false);
        var ids = ReferenceData.Ids("raw", 3).Select(id => (int)id).ToArray();
        var fromIds = await model.EmbedTokenIdsAsync([ids]);
        using var expected = ReferenceData.Tensor("float32/raw/3/last_hidden_state");
        using var last = expected[-1];
        Assert.That(fromIds[0].Vector, Is.EqualTo(last.data<float>().ToArray()).Within(1e-4), "no prompt format applied to ids");
        Assert.That(fromIds[0].TokenCount, Is.EqualTo(ids.Length));
        Assert.That(async () => await model.EmbedTokenIdsAsync([[1, 32000]]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("32000"));
        Assert.That(async () => await model.EmbedTokenIdsAsync([[]]), Throws.ArgumentException.With.Message.Contains("ids[0] is empty"));
    }
}
