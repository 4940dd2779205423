using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using LastTokenEmbeddings.TestSupport;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Modeling;
using LastTokenEmbeddings.Pooling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.TestSupport;

public sealed class CheckpointSynthesizerTests
{
    private static readonly DecoderConfig Small = new()
    {
        Family = ModelFamily.Mistral, VocabSize = 32000, HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 2,
        NumAttentionHeads = 4, NumKeyValueHeads = 2, HeadDim = 16, MaxPositionEmbeddings = 256, LayerSlidingWindows = [32, 32],
    };

    private string directory = "";

    [SetUp]
    public void SetUp() => directory = Path.Combine(Path.GetTempPath(), "lte-synth-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(directory))
            Directory.Delete(directory, recursive: true);
    }

    [TestCase("F32", ComputeDType.AsStored)]
    [TestCase("BF16", ComputeDType.AsStored)]
    [TestCase("BF16", ComputeDType.Float32)]
    [TestCase("F16", ComputeDType.Float32)]
    public void Synthesized_checkpoint_loads_and_embeds(string storedDType, ComputeDType compute)
    {
        var dtype = Enum.Parse<SafetensorsDType>(storedDType);
        CheckpointSynthesizer.Write(directory, Small, dtype, tokenizerDirectory: TestPaths.FixtureDirectory);
        foreach (var pooling in new[] { PoolingStrategies.LastTokenLogits, PoolingStrategies.LastTokenHidden, PoolingStrategies.Mean })
        {
            using var model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = pooling }, new ModelLoadOptions { DType = compute });
            Assert.That(model.Checkpoint.StoredDType, Is.EqualTo(dtype.ToString()));
            var vectors = model.Embed(["hello world", "a somewhat longer text to embed here"]);
            var expected = pooling is LastTokenLogitsPooling ? Small.VocabSize : Small.HiddenSize;
            Assert.That(vectors, Has.Count.EqualTo(2));
            foreach (var v in vectors)
            {
                Assert.That(v.Vector.Length, Is.EqualTo(expected));
                Assert.That(v.Vector.All(float.IsFinite), Is.True);
            }
        }
    }

    [Test]
    public void Writes_hugging_face_names_config_and_index()
    {
        var bytes = CheckpointSynthesizer.Write(directory, Small, SafetensorsDType.F32);
        var config = DecoderConfig.Load(Path.Combine(directory, "config.json"));
        Assert.That(config with { DType = null, Architecture = null }, Is.EqualTo(Small with { DType = null, Architecture = null }));
        Assert.That(config.DType, Is.EqualTo("float32"));
        Assert.That(config.Architecture, Is.EqualTo("MistralForCausalLM"));
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, ShardedCheckpoint.IndexFileName)));
        Assert.That(index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64(), Is.EqualTo(bytes));
        Assert.That(bytes, Is.EqualTo(Small.ParameterCount(includeLanguageModelHead: true) * 4));
        var names = index.RootElement.GetProperty("weight_map").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.That(names, Does.Contain("model.embed_tokens.weight"));
        Assert.That(names, Does.Contain("model.layers.1.self_attn.k_proj.weight"));
        Assert.That(names, Does.Contain("model.layers.0.mlp.down_proj.weight"));
        Assert.That(names, Does.Contain("model.layers.0.post_attention_layernorm.weight"));
        Assert.That(names, Does.Contain("model.norm.weight"));
        Assert.That(names, Does.Contain("lm_head.weight"));
        Assert.That(names, Has.Count.EqualTo(3 + 9 * Small.NumHiddenLayers));

        using var checkpoint = ShardedCheckpoint.Open(directory);
        using var norm = checkpoint.Read("model.layers.0.input_layernorm.weight");
        Assert.That(norm.eq(SafeScalars.Of(1)).all().item<bool>(), Is.True);
        using var q = checkpoint.Read("model.layers.0.self_attn.q_proj.weight");
        Assert.That(q.std().item<float>(), Is.EqualTo(0.02f).Within(0.002f));
        Assert.That(q.mean().item<float>(), Is.EqualTo(0f).Within(0.002f));
    }

    [Test]
    public void Small_shard_limit_gives_several_shards_that_load()
    {
        CheckpointSynthesizer.Write(directory, Small, SafetensorsDType.BF16, maxShardBytes: 1 << 20);
        var shards = Directory.GetFiles(directory, "model-*-of-*.safetensors");
        Assert.That(shards, Has.Length.GreaterThan(1));
        Assert.That(shards.Select(Path.GetFileName), Does.Contain($"model-00001-of-{shards.Length:D5}.safetensors"));
        using var model = DecoderForCausalLM.Load(directory);
        using var ids = tensor(new long[] { 1, 15043, 3186, 2 }, [1, 4]);
        using var mask = ones([1, 4], ScalarType.Bool);
        using var logits = model.forward(ids, mask);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 4, Small.VocabSize }));
        Assert.That(logits.isfinite().all().item<bool>(), Is.True);
    }

    [Test]
    public void Same_seed_gives_same_weights_whatever_the_sharding()
    {
        var other = directory + "-b";
        try
        {
            CheckpointSynthesizer.Write(directory, Small, SafetensorsDType.F32, seed: 7);
            CheckpointSynthesizer.Write(other, Small, SafetensorsDType.F32, maxShardBytes: 1 << 20, seed: 7);
            using var a = ShardedCheckpoint.Open(directory);
            using var b = ShardedCheckpoint.Open(other);
            using var ta = a.Read("model.layers.1.mlp.up_proj.weight");
            using var tb = b.Read("model.layers.1.mlp.up_proj.weight");
            Assert.That(ta.equal(tb).all().item<bool>(), Is.True);
        }
        finally
        {
            if (Directory.Exists(other))
                Directory.Delete(other, recursive: true);
        }
    }

    [Test]
    public void Base_layout_loads_without_lm_head()
    {
        CheckpointSynthesizer.Write(directory, Small, SafetensorsDType.BF16, tokenizerDirectory: TestPaths.FixtureDirectory, baseModelLayout: true);
        using var checkpoint = ShardedCheckpoint.Open(directory);
        Assert.That(checkpoint.TensorNames, Does.Contain("embed_tokens.weight"));
        Assert.That(checkpoint.TensorNames.Any(n => n.StartsWith("model.", StringComparison.Ordinal) || n.StartsWith("lm_head", StringComparison.Ordinal)), Is.False);
        using var model = EmbeddingModel.Load(directory, new EmbeddingOptions { Pooling = PoolingStrategies.Mean });
        Assert.That(model.Checkpoint.Layout, Is.EqualTo(CheckpointLayout.BaseModel));
        var vector = model.Embed(["hello"])[0].Vector;
        Assert.That(vector, Has.Length.EqualTo(Small.HiddenSize));
        Assert.That(vector.All(float.IsFinite), Is.True);
    }

    [TestCase("109m", 1024, 8)]
    [TestCase("tinyllama-1.1b", 2048, 22)]
    [TestCase("mistral-7b", 4096, 32)]
    [TestCase("qwen3-0.6b", 1024, 28)]
    [TestCase("qwen3-4b", 2560, 36)]
    public void Presets_have_the_standard_shapes(string name, int hidden, int layers)
    {
        var config = CheckpointSynthesizer.Preset(name);
        Assert.That(config.HiddenSize, Is.EqualTo(hidden));
        Assert.That(config.NumHiddenLayers, Is.EqualTo(layers));
        var read = DecoderConfig.Parse(CheckpointSynthesizer.ToConfigJson(config, SafetensorsDType.BF16));
        Assert.That(read.LayerSlidingWindows, Is.EqualTo(config.LayerSlidingWindows));
        Assert.That(read with { DType = null, LayerSlidingWindows = config.LayerSlidingWindows }, Is.EqualTo(config));
    }
}
