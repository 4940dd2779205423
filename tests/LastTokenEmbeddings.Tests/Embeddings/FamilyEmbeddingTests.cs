using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tests.Cli;
using LastTokenEmbeddings.Tokenization;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Embeddings;

/// <summary>
/// Every family fixture through the public API and through <c>lte</c>: ids exactly as transformers made them (the
/// tokenizers library's, for tiny-llama's text 5), and pooled vectors within 1e-4 of the float32 references.
/// </summary>
public class FamilyEmbeddingTests
{
    private static readonly Dictionary<string, EmbeddingModel> Models = [];

    private static EmbeddingModel Model(string fixture)
    {
        lock (Models)
        {
            if (!Models.TryGetValue(fixture, out var model))
                Models[fixture] = model = EmbeddingModel.Load(TestPaths.Fixture(fixture), new EmbeddingOptions { Normalize = false }, new ModelLoadOptions { DType = ComputeDType.Float32 });
            return model;
        }
    }

    /// <summary>How a fixture's mode is reproduced: the prompt format and role.</summary>
    private static (PromptFormat Prompt, TextRole Role) Format(string mode) => mode switch
    {
        "raw" => (PromptFormat.Raw, TextRole.Query),
        "embed_document" => (PromptFormat.Qwen3Embedding(), TextRole.Document),
        "embed_query" => (PromptFormat.Qwen3Embedding(), TextRole.Query),
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    /// <summary>tiny-llama's text 5: transformers 5.17 ids differ from the tokenizers library's, which the library follows.</summary>
    private static bool TransformersDiffersFromTokenizers(string fixture, int index) => fixture is "tiny-llama" or "tiny-llama3-rope" && index == 5;

    private static IEnumerable<TestCaseData> Inputs() =>
        FixtureReference.NewFamilies.SelectMany(name => FixtureReference.Get(name).AllInputs()
            .Select(input => new TestCaseData(name, input.Mode, input.Index).SetName($"{name}/{input.Mode}/{input.Index}")));

    [TestCaseSource(nameof(Inputs))]
    public async Task Ids_and_pooled_vectors_match_the_reference(string fixture, string mode, int index)
    {
        var reference = FixtureReference.Get(fixture);
        var (prompt, role) = Format(mode);
        var expectedIds = reference.Ids(mode, index).Select(id => (int)id).ToArray();
        using var view = Model(fixture).WithOptions(new EmbeddingOptions { Prompt = prompt, Pooling = PoolingStrategies.LastTokenHidden, Normalize = false });
        var ids = view.Tokenize(reference.Text(index), role);
        if (TransformersDiffersFromTokenizers(fixture, index))
        {
            Assert.That(ids[..2], Is.EqualTo(new[] { 1, 259 }), "the tokenizers library's ids for text 5");
            Assert.That(ids[2..], Is.EqualTo(expectedIds[2..]));
        }
        else
        {
            Assert.That(ids, Is.EqualTo(expectedIds), "ids");
        }

        using var hidden = reference.Tensor($"float32/{mode}/{index}/last_hidden_state");
        using var last = hidden[-1];
        using var mean = hidden.mean([0L]);
        // Vectors are compared on the reference's own ids (identical to ours except tiny-llama's text 5).
        var lastToken = (await view.EmbedTokenIdsAsync([expectedIds]))[0].Vector;
        Assert.That(lastToken, Is.EqualTo(last.data<float>().ToArray()).Within(1e-4), "last-token hidden");
        using var meanView = view.WithOptions(new EmbeddingOptions { Prompt = prompt, Pooling = PoolingStrategies.Mean, Normalize = false });
        Assert.That((await meanView.EmbedTokenIdsAsync([expectedIds]))[0].Vector, Is.EqualTo(mean.data<float>().ToArray()).Within(1e-4), "mean");
        if (!TransformersDiffersFromTokenizers(fixture, index))
            Assert.That((await view.EmbedAsync([reference.Text(index)], role))[0].Vector, Is.EqualTo(lastToken).Within(1e-5), "from text");

        var logitsKey = $"float32/{mode}/{index}/logits_last";
        if (reference.Has(logitsKey))
        {
            using var expectedLogits = reference.Tensor(logitsKey);
            using var logitsView = view.WithOptions(new EmbeddingOptions { Prompt = prompt, Pooling = PoolingStrategies.LastTokenLogits, Normalize = false });
            Assert.That((await logitsView.EmbedTokenIdsAsync([expectedIds]))[0].Vector, Is.EqualTo(expectedLogits.data<float>().ToArray()).Within(1e-4), "last-token logits");
        }
    }

    [Test]
    public async Task A_declared_max_seq_length_below_the_positions_is_the_limit_and_truncation_keeps_the_closing_token()
    {
        // tiny-qwen3-embedding with sentence_bert_config.json's max_seq_length lowered to 32 (the other files linked).
        var source = TestPaths.Fixture("tiny-qwen3-embedding");
        var folder = Directory.CreateTempSubdirectory("lte-max-seq-").FullName;
        try
        {
            foreach (var entry in Directory.EnumerateFileSystemEntries(source))
            {
                var name = Path.GetFileName(entry);
                if (name == "sentence_bert_config.json")
                    continue;
                var target = new FileInfo(entry).LinkTarget is { } link ? Path.GetFullPath(Path.Combine(source, link)) : entry;
                if (Directory.Exists(entry))
                    Directory.CreateSymbolicLink(Path.Combine(folder, name), target);
                else
                    File.CreateSymbolicLink(Path.Combine(folder, name), target);
            }
            File.WriteAllText(Path.Combine(folder, "sentence_bert_config.json"), """{"max_seq_length": 32, "do_lower_case": false}""");
            using var model = EmbeddingModel.Load(folder, loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
            Assert.That(model.MaxTokens, Is.EqualTo(32), "max_seq_length 32 under the 512 positions");
            var text = string.Join(' ', Enumerable.Repeat("llamas graze on the high plains", 20));
            var ids = model.Tokenize(text, TextRole.Document);
            Assert.That(ids, Has.Length.EqualTo(32));
            Assert.That(ids[^1], Is.EqualTo(151643), "the post-processor's <|endoftext|> follows the cut text, as tokenizer(truncation=True, max_length=32) gives");
            var embedding = await model.EmbedAsync(text, TextRole.Document);
            Assert.That((embedding.TokenCount, embedding.Truncated), Is.EqualTo((32, true)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestCase(TextRole.Query, "embed_query")]
    [TestCase(TextRole.Document, "embed_document")]
    public async Task Qwen3_embedding_with_default_options_embeds_as_sentence_transformers(TextRole role, string mode)
    {
        var reference = FixtureReference.Get("tiny-qwen3");
        using var model = EmbeddingModel.Load(TestPaths.Fixture("tiny-qwen3-embedding"), loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
        Assert.That((model.Pooling.Name, model.Normalize, model.MaxTokens), Is.EqualTo(("last-token-hidden", true, 512)), "declared: last token, normalised; max_seq_length 8192 capped by the 512 positions");
        var texts = Enumerable.Range(0, reference.TextCount).Select(reference.Text).ToArray();
        var results = await model.EmbedAsync(texts, role);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.That(model.Tokenize(texts[i], role), Is.EqualTo(reference.Ids(mode, i).Select(id => (int)id).ToArray()), $"ids of text {i}");
            using var hidden = reference.Tensor($"float32/{mode}/{i}/last_hidden_state");
            using var last = hidden[-1];
            using var normalized = nn.functional.normalize(last, p: 2, dim: 0);
            Assert.That(results[i].Vector, Is.EqualTo(normalized.data<float>().ToArray()).Within(1e-4), $"text {i}");
        }
    }

    [Test]
    public async Task Explicit_options_override_the_declared_ones()
    {
        using var model = EmbeddingModel.Load(TestPaths.Fixture("tiny-qwen3-embedding"),
            new EmbeddingOptions { Pooling = PoolingStrategies.Mean, Normalize = false, Prompt = PromptFormat.Raw }, new ModelLoadOptions { DType = ComputeDType.Float32 });
        var reference = FixtureReference.Get("tiny-qwen3");
        using var hidden = reference.Tensor("float32/embed_document/2/last_hidden_state");
        using var mean = hidden.mean([0L]);
        // Raw = tokenizer(text): this tokenizer's post-processor appends <|endoftext|>, so ids are embed_document's.
        Assert.That((await model.EmbedAsync(reference.Text(2), TextRole.Query)).Vector, Is.EqualTo(mean.data<float>().ToArray()).Within(1e-4));
    }

    [Test]
    public async Task Declared_prompts_can_be_named_per_call()
    {
        using var model = EmbeddingModel.Load(TestPaths.Fixture("tiny-qwen3-embedding"), loadOptions: new ModelLoadOptions { DType = ComputeDType.Float32 });
        var reference = FixtureReference.Get("tiny-qwen3");
        var text = reference.Text(1);
        Assert.That(model.Tokenize(text, new EmbeddingCallOptions { Role = TextRole.Document, PromptName = "query" }),
            Is.EqualTo(reference.Ids("embed_query", 1).Select(id => (int)id).ToArray()), "the query prompt, whatever the role");
        var named = await model.EmbedAsync([text], new EmbeddingCallOptions { PromptName = "document" });
        var document = await model.EmbedAsync([text], TextRole.Document);
        Assert.That(named[0].Vector, Is.EqualTo(document[0].Vector).Within(1e-6));
        Assert.That(() => model.Embed([text], new EmbeddingCallOptions { PromptName = "passage" }), Throws.ArgumentException.With.Message.Contains("query, document"));
    }

    [Test]
    public void Bfloat16_compute_of_each_family_keeps_cosine_0_995_through_the_api()
    {
        foreach (var fixture in FixtureReference.NewFamilies)
        {
            var reference = FixtureReference.Get(fixture);
            using var model = EmbeddingModel.Load(reference.Directory, new EmbeddingOptions { Normalize = true }, new ModelLoadOptions { DType = ComputeDType.BFloat16 });
            var mode = reference.Modes[0];
            for (var i = 0; i < reference.TextCount; i++)
            {
                var vector = model.EmbedTokenIdsAsync([reference.Ids(mode, i).Select(id => (int)id).ToArray()]).GetAwaiter().GetResult()[0].Vector;
                using var hidden = reference.Tensor($"float32/{mode}/{i}/last_hidden_state");
                using var last = hidden[-1];
                var expected = last.data<float>().ToArray();
                var cosine = LastTokenEmbeddings.Similarity.CosineSimilarity.Compute(vector, expected);
                Assert.That(cosine, Is.GreaterThanOrEqualTo(0.995f), $"{fixture} text {i}");
            }
        }
    }

    [TestCase("tiny-qwen3", "embed_query", "--prompt", "qwen3-embedding", "--role", "query")]
    [TestCase("tiny-qwen3", "embed_document", "--prompt", "qwen3-embedding", "--role", "document")]
    [TestCase("tiny-qwen3-embedding", "embed_query", "--role", "query")]
    [TestCase("tiny-qwen3-embedding", "embed_document", "--role", "document")]
    [TestCase("tiny-qwen2", "raw", "--prompt", "raw")]
    [TestCase("tiny-llama3-rope", "raw", "--prompt", "raw")]
    public async Task Lte_tokenize_and_embed_reproduce_the_reference(string fixture, string mode, params string[] options)
    {
        var referenceFixture = fixture == "tiny-qwen3-embedding" ? "tiny-qwen3" : fixture;
        var reference = FixtureReference.Get(referenceFixture);
        var indices = Enumerable.Range(0, reference.TextCount).Where(i => !TransformersDiffersFromTokenizers(referenceFixture, i)).ToArray();
        var texts = indices.Select(reference.Text).ToArray();
        var tokenized = (await Lte.Run(["tokenize", "--model", TestPaths.Fixture(fixture), .. options, "--format", "json", .. texts])).Json();
        var data = tokenized.GetProperty("data").EnumerateArray().ToArray();
        var embedded = (await Lte.Run(["embed", "--model", TestPaths.Fixture(fixture), .. options, "--dtype", "float32", "--no-normalize", "--pooling", "last-token-hidden", "--format", "json", .. texts])).Json();
        var vectors = embedded.GetProperty("data").EnumerateArray().ToArray();
        for (var k = 0; k < indices.Length; k++)
        {
            Assert.That(data[k].GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(reference.Ids(mode, indices[k])), $"ids of text {indices[k]}");
            using var hidden = reference.Tensor($"float32/{mode}/{indices[k]}/last_hidden_state");
            using var last = hidden[-1];
            Assert.That(vectors[k].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()), Is.EqualTo(last.data<float>().ToArray()).Within(1e-4), $"vector of text {indices[k]}");
        }
    }
}
