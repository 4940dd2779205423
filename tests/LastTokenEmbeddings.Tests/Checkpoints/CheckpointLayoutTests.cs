using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>Both published layouts and all weight dtypes load; the references still apply.</summary>
public class CheckpointLayoutTests
{
    private static readonly ModelLoadOptions Float32 = new() { DType = ComputeDType.Float32 };

    [Test]
    public void Base_model_layout_reproduces_hidden_states_and_refuses_logits()
    {
        using var variant = new FixtureRewriter()
            .Config(c => c["architectures"] = new System.Text.Json.Nodes.JsonArray("MistralModel"))
            .Weights((name, tensor) => name.StartsWith("model.", StringComparison.Ordinal) ? [(name["model.".Length..], tensor)] : []);
        using var model = DecoderForCausalLM.Load(variant.Directory, Float32);
        Assert.That(model.Checkpoint.Layout, Is.EqualTo(CheckpointLayout.BaseModel));
        Assert.That(model.HasLanguageModelHead, Is.False);
        foreach (var (mode, index) in ReferenceData.AllInputs())
        {
            using var scope = NewDisposeScope();
            var ids = tensor(ReferenceData.Ids(mode, index)).unsqueeze(0);
            var hidden = model.Model.forward(ids, ones_like(ids));
            Assert.That(ReferenceData.MaxAbsDiff(hidden[0], ReferenceData.Tensor($"float32/{mode}/{index}/last_hidden_state")), Is.LessThanOrEqualTo(1e-4));
        }
        using var scope2 = NewDisposeScope();
        Assert.That(() => model.ComputeLogits(zeros(1, 64)), Throws.InvalidOperationException.With.Message.Contains("lm_head"));
    }

    [Test]
    public void Base_model_layout_rejects_logits_pooling_but_serves_hidden_pooling()
    {
        using var variant = new FixtureRewriter()
            .Config()
            .Weights((name, tensor) => name.StartsWith("model.", StringComparison.Ordinal) ? [(name["model.".Length..], tensor)] : []);
        Assert.That(() => EmbeddingModel.Load(variant.Directory, new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenLogits }, Float32),
            Throws.InvalidOperationException.With.Message.Contains("last-token-logits"));
        using var model = EmbeddingModel.Load(variant.Directory, new EmbeddingOptions { Pooling = PoolingStrategies.LastTokenHidden, Normalize = false }, Float32);
        using var expected = ReferenceData.Tensor("float32/raw/0/last_hidden_state");
        using var last = expected[-1];
        Assert.That(model.Embed([ReferenceData.Text(0)])[0].Vector, Is.EqualTo(last.data<float>().ToArray()).Within(1e-4));
    }

    [TestCase(ScalarType.BFloat16, "BF16")]
    [TestCase(ScalarType.Float16, "F16")]
    public void Reduced_precision_weights_load_as_stored_or_converted(ScalarType stored, string storedName)
    {
        using var variant = new FixtureRewriter().Config().Weights((name, tensor) => [(name, tensor.to(stored))]);
        using (var asStored = DecoderForCausalLM.Load(variant.Directory, new ModelLoadOptions { DType = ComputeDType.AsStored }))
        {
            Assert.That(asStored.Model.DType, Is.EqualTo(stored));
            Assert.That(asStored.Checkpoint.StoredDType, Is.EqualTo(storedName));
        }
        using var converted = DecoderForCausalLM.Load(variant.Directory, Float32);
        Assert.That(converted.Model.DType, Is.EqualTo(ScalarType.Float32));
        using var scope = NewDisposeScope();
        var ids = tensor(ReferenceData.Ids("chat", 1)).unsqueeze(0);
        var hidden = converted.Model.forward(ids, ones_like(ids))[0];
        var expected = ReferenceData.Tensor("float32/chat/1/last_hidden_state");
        // Weights were rounded to 16 bits, so compare direction rather than elements.
        Assert.That(nn.functional.cosine_similarity(hidden, expected, dim: 1).min().item<float>(), Is.GreaterThan(0.99f));
    }

    [Test]
    public void Tied_embeddings_use_the_embedding_matrix_as_lm_head()
    {
        using var variant = new FixtureRewriter()
            .Config(c => c["tie_word_embeddings"] = true)
            .Weights((name, tensor) => name == "lm_head.weight" ? [] : [(name, tensor)]);
        using var model = DecoderForCausalLM.Load(variant.Directory, Float32);
        Assert.That(model.HasLanguageModelHead, Is.True);
        using var scope = NewDisposeScope();
        var ids = tensor(ReferenceData.Ids("raw", 4)).unsqueeze(0);
        var hidden = model.Model.forward(ids, ones_like(ids))[0, -1];
        var embedding = ShardedReference("model.embed_tokens.weight");
        Assert.That(ReferenceData.MaxAbsDiff(model.ComputeLogits(hidden), embedding.matmul(hidden)), Is.LessThanOrEqualTo(1e-4));
    }

    [Test]
    public void Head_dim_may_differ_from_hidden_over_heads()
    {
        // hidden 64 with 4 heads of 32 (not 16): q_proj [128, 64], k/v_proj [64, 64], o_proj [64, 128].
        var generator = new TorchSharp.torch.Generator(7);
        Tensor Random(params long[] shape) => randn(shape, generator: generator).mul(SafeScalars.Of(0.05));
        using var variant = new FixtureRewriter()
            .Config(c => c["head_dim"] = 32)
            .Weights((name, tensor) => name switch
            {
                _ when name.EndsWith("q_proj.weight", StringComparison.Ordinal) => [(name, Random(128, 64))],
                _ when name.EndsWith("k_proj.weight", StringComparison.Ordinal) || name.EndsWith("v_proj.weight", StringComparison.Ordinal) => [(name, Random(64, 64))],
                _ when name.EndsWith("o_proj.weight", StringComparison.Ordinal) => [(name, Random(64, 128))],
                _ => [(name, tensor)],
            });
        using var model = EmbeddingModel.Load(variant.Directory, loadOptions: Float32);
        Assert.That(model.Config.HeadDim, Is.EqualTo(32));
        var vectors = model.Embed([ReferenceData.Text(0), ReferenceData.Text(10)]);
        Assert.That(vectors.SelectMany(v => v.Vector).All(float.IsFinite), Is.True);
        Assert.That(vectors[0].Vector, Has.Length.EqualTo(64));
    }

    private static Tensor ShardedReference(string name)
    {
        using var checkpoint = LastTokenEmbeddings.Checkpoints.Safetensors.ShardedCheckpoint.Open(TestPaths.FixtureDirectory);
        return checkpoint.Read(name);
    }
}
