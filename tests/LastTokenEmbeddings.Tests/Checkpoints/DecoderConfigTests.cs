using System.Text.Json.Nodes;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tests.Checkpoints;

public class DecoderConfigTests
{
    private static JsonObject Fixture() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.FixtureDirectory, "config.json")))!.AsObject();

    private static DecoderConfig Parse(Action<JsonObject> edit)
    {
        var config = Fixture();
        edit(config);
        return DecoderConfig.Parse(config.ToJsonString(), "test/config.json");
    }

    [Test]
    public void Reads_the_fixture()
    {
        var config = DecoderConfig.Load(Path.Combine(TestPaths.FixtureDirectory, "config.json"));
        Assert.Multiple(() =>
        {
            Assert.That(config.Architecture, Is.EqualTo("MistralForCausalLM"));
            Assert.That(config.VocabSize, Is.EqualTo(32000));
            Assert.That(config.HiddenSize, Is.EqualTo(64));
            Assert.That(config.IntermediateSize, Is.EqualTo(128));
            Assert.That(config.NumHiddenLayers, Is.EqualTo(2));
            Assert.That(config.NumAttentionHeads, Is.EqualTo(4));
            Assert.That(config.NumKeyValueHeads, Is.EqualTo(2));
            Assert.That(config.HeadDim, Is.EqualTo(16));
            Assert.That(config.RmsNormEps, Is.EqualTo(1e-5));
            Assert.That(config.RopeTheta, Is.EqualTo(10000.0));
            Assert.That(config.SlidingWindow, Is.EqualTo(24));
            Assert.That(config.MaxPositionEmbeddings, Is.EqualTo(512));
            Assert.That(config.TieWordEmbeddings, Is.False);
            Assert.That(config.DType, Is.EqualTo("float32"));
            Assert.That((config.BosTokenId, config.EosTokenId), Is.EqualTo((1, 2)));
            Assert.That(config.ParameterCount(includeLanguageModelHead: true), Is.EqualTo(4170048), "the index's total_parameters");
        });
    }

    [Test]
    public void Absent_or_null_optional_values_take_transformers_defaults()
    {
        var config = Parse(c =>
        {
            c["num_key_value_heads"] = null;
            c.Remove("head_dim");
            c["sliding_window"] = null;
            c.Remove("rope_theta");
            c.Remove("dtype");
            c["torch_dtype"] = "bfloat16";
        });
        Assert.That(config.NumKeyValueHeads, Is.EqualTo(4));
        Assert.That(config.HeadDim, Is.EqualTo(16));
        Assert.That(config.SlidingWindow, Is.Null);
        Assert.That(config.RopeTheta, Is.EqualTo(10000.0));
        Assert.That(config.DType, Is.EqualTo("bfloat16"));
    }

    [Test]
    public void Rope_theta_is_read_from_rope_parameters_as_transformers_5_writes_it()
    {
        var config = Parse(c =>
        {
            c.Remove("rope_theta");
            c["rope_parameters"] = new JsonObject { ["rope_type"] = "default", ["rope_theta"] = 1000000.0 };
        });
        Assert.That(config.RopeTheta, Is.EqualTo(1e6));
    }

    [TestCase("linear")]
    [TestCase("yarn")]
    [TestCase("dynamic")]
    public void Unimplemented_rope_scaling_is_refused(string type)
    {
        Assert.That(() => Parse(c => c["rope_scaling"] = new JsonObject { ["type"] = type, ["factor"] = 2.0 }),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains($"'{type}'").And.Message.Contains("not implemented"));
        Assert.That(() => Parse(c => c["rope_parameters"] = new JsonObject { ["rope_type"] = type, ["rope_theta"] = 1e4 }),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains($"'{type}'"));
    }

    [TestCase("hidden_size", 0)]
    [TestCase("hidden_size", -64)]
    [TestCase("num_hidden_layers", 0)]
    [TestCase("vocab_size", -1)]
    [TestCase("intermediate_size", 0)]
    [TestCase("num_attention_heads", 0)]
    [TestCase("sliding_window", 0)]
    [TestCase("max_position_embeddings", -5)]
    public void Zero_or_negative_sizes_are_refused(string key, int value)
    {
        Assert.That(() => Parse(c => c[key] = value),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains(key).And.Message.Contains("test/config.json"));
    }

    [Test]
    public void Inconsistent_head_counts_are_refused()
    {
        Assert.That(() => Parse(c => c["num_key_value_heads"] = 3), Throws.InstanceOf<CheckpointException>().With.Message.Contains("num_key_value_heads"));
        Assert.That(() => Parse(c => { c["num_attention_heads"] = 5; c.Remove("head_dim"); c["num_key_value_heads"] = 5; }),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains("not divisible"));
        Assert.That(() => Parse(c => c["head_dim"] = 15), Throws.InstanceOf<CheckpointException>().With.Message.Contains("even"));
    }

    [TestCase("GemmaForCausalLM", "gemma")]
    [TestCase("GPT2LMHeadModel", "gpt2")]
    public void Other_architectures_are_refused(string architecture, string modelType)
    {
        Assert.That(() => Parse(c => c["architectures"] = new JsonArray(architecture)),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains(architecture));
        Assert.That(() => Parse(c => { c.Remove("architectures"); c["model_type"] = modelType; }),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains(modelType));
    }

    [Test]
    public void Unsupported_activation_dtype_and_wrong_types_are_refused()
    {
        Assert.That(() => Parse(c => c["hidden_act"] = "gelu"), Throws.InstanceOf<CheckpointException>().With.Message.Contains("gelu"));
        Assert.That(() => Parse(c => c["dtype"] = "int8"), Throws.InstanceOf<CheckpointException>().With.Message.Contains("int8"));
        Assert.That(() => Parse(c => c["hidden_size"] = "64"), Throws.InstanceOf<CheckpointException>().With.Message.Contains("hidden_size"));
        Assert.That(() => Parse(c => c["hidden_size"] = 64.5), Throws.InstanceOf<CheckpointException>().With.Message.Contains("hidden_size"));
        Assert.That(() => Parse(c => c["hidden_size"] = 1e20), Throws.InstanceOf<CheckpointException>().With.Message.Contains("hidden_size"));
        Assert.That(() => Parse(c => c["tie_word_embeddings"] = "yes"), Throws.InstanceOf<CheckpointException>().With.Message.Contains("tie_word_embeddings"));
        Assert.That(() => Parse(c => c["eos_token_id"] = 99999), Throws.InstanceOf<CheckpointException>().With.Message.Contains("eos_token_id"));
        Assert.That(() => Parse(c => c.Remove("vocab_size")), Throws.InstanceOf<CheckpointException>().With.Message.Contains("vocab_size"));
    }

    [Test]
    public void Eos_lists_take_the_first_id()
    {
        Assert.That(Parse(c => c["eos_token_id"] = new JsonArray(2, 32000 - 1)).EosTokenId, Is.EqualTo(2));
    }

    [TestCase("")]
    [TestCase("{")]
    [TestCase("[]")]
    [TestCase("null")]
    [TestCase("{\"architectures\": [\"MistralForCausalLM\"]}")]
    public void Malformed_json_is_a_checkpoint_error(string json)
    {
        Assert.That(() => DecoderConfig.Parse(json, "bad/config.json"),
            Throws.InstanceOf<CheckpointException>().With.Property(nameof(CheckpointException.FilePath)).EqualTo("bad/config.json"));
    }

    [Test]
    public void Missing_file_is_named()
    {
        Assert.That(() => DecoderConfig.Load("/nowhere/config.json"),
            Throws.InstanceOf<CheckpointException>().With.Message.Contains("/nowhere/config.json"));
    }
}
