using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Modeling;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>Loading is a strict key match: every mismatch names the tensor and the file.</summary>
public class StrictLoadingTests
{
    [Test]
    public void Missing_tensor_is_named()
    {
        using var variant = new FixtureRewriter().Config().Weights((name, t) => name == "model.layers.1.mlp.up_proj.weight" ? [] : [(name, t)]);
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.TensorName, Is.EqualTo("model.layers.1.mlp.up_proj.weight"));
        Assert.That(error.Message, Does.Contain("missing").And.Contain(variant.Directory));
    }

    [Test]
    public void Missing_tensor_of_a_one_shard_index_names_the_index()
    {
        using var variant = new FixtureRewriter().Config().Weights((name, t) => name == "model.norm.weight" ? [] : [(name, t)]);
        var shard = Path.Combine(variant.Directory, "model-00001-of-00001.safetensors");
        File.Move(Path.Combine(variant.Directory, "model.safetensors"), shard);
        using (var file = LastTokenEmbeddings.Checkpoints.Safetensors.SafetensorsFile.Open(shard))
        {
            var map = new System.Text.Json.Nodes.JsonObject();
            foreach (var name in file.Tensors.Keys)
                map[name] = "model-00001-of-00001.safetensors";
            File.WriteAllText(Path.Combine(variant.Directory, "model.safetensors.index.json"),
                new System.Text.Json.Nodes.JsonObject { ["weight_map"] = map }.ToJsonString());
        }
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.TensorName, Is.EqualTo("model.norm.weight"));
        Assert.That(error.FilePath, Is.EqualTo(Path.Combine(variant.Directory, "model.safetensors.index.json")));
    }

    [Test]
    public void Unexpected_tensor_is_named()
    {
        using var variant = new FixtureRewriter().Config().Weights(extra: [("model.layers.0.self_attn.q_proj.bias", zeros(64))]);
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.TensorName, Is.EqualTo("model.layers.0.self_attn.q_proj.bias"));
        Assert.That(error.FilePath, Is.EqualTo(Path.Combine(variant.Directory, "model.safetensors")));
        Assert.That(error.Message, Does.Contain("unexpected"));
    }

    [Test]
    public void Wrongly_shaped_tensor_is_named_with_both_shapes()
    {
        using var variant = new FixtureRewriter().Config().Weights((name, t) => name == "model.norm.weight" ? [(name, ones(63))] : [(name, t)]);
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.TensorName, Is.EqualTo("model.norm.weight"));
        Assert.That(error.Message, Does.Contain("[63]").And.Contain("[64]"));
    }

    [Test]
    public void Config_disagreeing_with_weight_shapes_is_an_error()
    {
        using var variant = new FixtureRewriter().Config(c => c["intermediate_size"] = 256).Weights();
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.TensorName, Does.EndWith("mlp.gate_proj.weight"));
        Assert.That(error.Message, Does.Contain("[256, 64]"));
    }

    [Test]
    public void Integer_weights_are_refused()
    {
        using var variant = new FixtureRewriter().Config().Weights((name, t) => name == "model.norm.weight" ? [(name, t.to(ScalarType.Int32))] : [(name, t)]);
        var error = Assert.Throws<CheckpointException>(() => DecoderForCausalLM.Load(variant.Directory))!;
        Assert.That(error.Message, Does.Contain("I32"));
    }

    [Test]
    public void Missing_or_corrupt_tokenizer_is_a_checkpoint_error_naming_the_file()
    {
        using var variant = new FixtureRewriter().Config().Weights();
        var tokenizerPath = Path.Combine(variant.Directory, "tokenizer.model");
        File.WriteAllBytes(tokenizerPath, [1, 2, 3, 4, 5, 0xff, 0x13]);
        Assert.That(() => EmbeddingModel.Load(variant.Directory),
            Throws.InstanceOf<CheckpointException>().With.Property(nameof(CheckpointException.FilePath)).EqualTo(tokenizerPath));
        File.Delete(tokenizerPath);
        Assert.That(File.Exists(Path.Combine(variant.Directory, "tokenizer.json")), Is.False, "the rewritten fixture has no tokenizer.json either");
        Assert.That(() => EmbeddingModel.Load(variant.Directory),
            Throws.InstanceOf<CheckpointException>().With.Property(nameof(CheckpointException.FilePath)).EqualTo(variant.Directory)
                .And.Message.Contains("neither tokenizer.model nor tokenizer.json"));
    }

    [Test]
    public void Missing_directory_config_or_weights_are_named()
    {
        Assert.That(() => DecoderForCausalLM.Load("/no/such/dir"), Throws.InstanceOf<CheckpointException>().With.Message.Contains("/no/such/dir"));
        using var noConfig = new FixtureRewriter().Weights();
        Assert.That(() => DecoderForCausalLM.Load(noConfig.Directory), Throws.InstanceOf<CheckpointException>().With.Message.Contains("config.json"));
        using var noWeights = new FixtureRewriter().Config();
        Assert.That(() => DecoderForCausalLM.Load(noWeights.Directory), Throws.InstanceOf<CheckpointException>().With.Message.Contains(noWeights.Directory));
    }

    [Test]
    public void Load_inside_a_caller_dispose_scope_survives_the_scope()
    {
        DecoderForCausalLM model;
        using (NewDisposeScope())
            model = DecoderForCausalLM.Load(TestPaths.FixtureDirectory, new ModelLoadOptions { DType = ComputeDType.Float32 });
        using (model)
        using (var scope = NewDisposeScope())
        {
            var ids = tensor(ReferenceData.Ids("raw", 0)).unsqueeze(0);
            Assert.That(ReferenceData.MaxAbsDiff(model.Model.forward(ids, ones_like(ids))[0], ReferenceData.Tensor("float32/raw/0/last_hidden_state")),
                Is.LessThanOrEqualTo(1e-4));
        }
    }
}

public class TokenizerModelMismatchTests
{
    [Test]
    public void Tokenizer_larger_than_the_model_vocabulary_is_refused()
    {
        using var variant = new FixtureRewriter()
            .Config(c => c["vocab_size"] = 1000)
            .Weights((name, t) => name is "model.embed_tokens.weight" or "lm_head.weight" ? [(name, t[TorchSharp.torch.TensorIndex.Slice(0, 1000)])] : [(name, t)]);
        Assert.That(() => EmbeddingModel.Load(variant.Directory),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains("vocab_size is 1000").And.Property(nameof(CheckpointException.FilePath)).EndsWith("tokenizer.model"));
    }
}
