using System.Text.Json.Nodes;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>config.json of the Qwen2, Qwen3 and Llama families: defaults of their transformers classes, both config forms, and refusals.</summary>
public class FamilyConfigTests
{
    private static JsonObject Fixture(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.Fixture(name), "config.json")))!.AsObject();

    private static DecoderConfig Parse(string fixture, Action<JsonObject> edit)
    {
        var config = Fixture(fixture);
        edit(config);
        return DecoderConfig.Parse(config.ToJsonString(), "test/config.json");
    }

    private static void AssertRefused(string fixture, Action<JsonObject> edit, params string[] fragments)
    {
        var error = Assert.Throws<CheckpointException>(() => Parse(fixture, edit))!;
        foreach (var fragment in fragments)
            Assert.That(error.Message, Does.Contain(fragment));
        Assert.That(error.Message, Does.StartWith("test/config.json: "));
    }

    [Test]
    public void Reads_each_family_fixture()
    {
        var qwen3 = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-qwen3"), "config.json"));
        Assert.Multiple(() =>
        {
            Assert.That(qwen3.Family, Is.EqualTo(ModelFamily.Qwen3));
            Assert.That(qwen3.HeadDim, Is.EqualTo(16));
            Assert.That(qwen3.QkNorm, Is.True);
            Assert.That(qwen3.RopeTheta, Is.EqualTo(1e6));
            Assert.That(qwen3.TieWordEmbeddings, Is.True);
            Assert.That(qwen3.BosTokenId, Is.Null);
            Assert.That(qwen3.EosTokenId, Is.EqualTo(151643));
            Assert.That(qwen3.LayerSlidingWindows, Is.EqualTo(new int?[] { null, null }));
        });
        var qwen2 = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-qwen2"), "config.json"));
        Assert.That((qwen2.Family, qwen2.AttentionQkvBias, qwen2.AttentionOutputBias, qwen2.HeadDim, qwen2.RopeTheta, qwen2.DType),
            Is.EqualTo((ModelFamily.Qwen2, true, false, 12, 1e6, "bfloat16")));
        var llama3 = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-llama3-rope"), "config.json"));
        Assert.That(llama3.Rope, Is.EqualTo(new RotaryEmbeddingParameters
        {
            Type = "llama3", Theta = 5e5, Factor = 8, LowFrequencyFactor = 1, HighFrequencyFactor = 4, OriginalMaxPositionEmbeddings = 64,
        }));
        Assert.That(llama3.HeadDim, Is.EqualTo(16), "explicit head_dim with hidden 64 and 4 heads");
    }

    [Test]
    public void Qwen3_head_dim_defaults_to_128_as_in_transformers()
    {
        var config = Parse("tiny-qwen3", c =>
        {
            c.Remove("head_dim");
            c["hidden_size"] = 512;
        });
        Assert.That(config.HeadDim, Is.EqualTo(128));
        Assert.That(Parse("tiny-llama", c => c.Remove("head_dim")).HeadDim, Is.EqualTo(8), "Llama: hidden / heads");
    }

    [Test]
    public void Qwen_sliding_window_applies_only_when_enabled_and_from_max_window_layers()
    {
        Assert.That(Parse("tiny-qwen2", _ => { }).LayerSlidingWindows, Is.EqualTo(new int?[] { null, null }));
        var enabled = Parse("tiny-qwen2", c =>
        {
            c["use_sliding_window"] = true;
            c["max_window_layers"] = 1;
        });
        Assert.That(enabled.LayerSlidingWindows, Is.EqualTo(new int?[] { null, 16 }));
        var fromTypes = Parse("tiny-qwen3", c =>
        {
            c["use_sliding_window"] = true;
            c["sliding_window"] = 8;
            c["layer_types"] = new JsonArray("sliding_attention", "full_attention");
        });
        Assert.That(fromTypes.LayerSlidingWindows, Is.EqualTo(new int?[] { 8, null }));
    }

    [Test]
    public void Legacy_rope_scaling_and_transformers_5_rope_parameters_read_alike()
    {
        var modern = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-llama3-rope"), "config.json"));
        var legacy = Parse("tiny-llama3-rope", c =>
        {
            var parameters = c["rope_parameters"]!.AsObject();
            c.Remove("rope_parameters");
            c["rope_theta"] = 500000.0;
            c["rope_scaling"] = new JsonObject
            {
                ["type"] = "llama3", ["factor"] = parameters["factor"]!.GetValue<double>(), ["low_freq_factor"] = 1.0,
                ["high_freq_factor"] = 4.0, ["original_max_position_embeddings"] = 64,
            };
            c["torch_dtype"] = c["dtype"]!.GetValue<string>();
            c.Remove("dtype");
        });
        Assert.That(legacy.Rope, Is.EqualTo(modern.Rope));
        Assert.That(legacy.DType, Is.EqualTo(modern.DType));
    }

    [Test]
    public void Llama_attention_and_mlp_biases_follow_their_flags()
    {
        var config = Parse("tiny-llama", c =>
        {
            c["attention_bias"] = true;
            c["mlp_bias"] = true;
        });
        Assert.That((config.AttentionQkvBias, config.AttentionOutputBias, config.MlpBias), Is.EqualTo((true, true, true)));
    }

    [Test]
    public void Unsupported_settings_are_refused_naming_the_field()
    {
        AssertRefused("tiny-llama", c => c["rope_parameters"]!["rope_type"] = "yarn", "rope_parameters.rope_type", "yarn");
        AssertRefused("tiny-llama3-rope", c => c["rope_parameters"]!.AsObject().Remove("factor"), "rope_parameters.factor");
        AssertRefused("tiny-llama", c => c["partial_rotary_factor"] = 0.5, "partial_rotary_factor");
        AssertRefused("tiny-qwen3", c => c["layer_types"] = new JsonArray("full_attention"), "layer_types", "has 1 entries", "num_hidden_layers is 2");
        AssertRefused("tiny-qwen3", c => c["layer_types"] = new JsonArray("full_attention", "chunked_attention"), "layer_types[1]", "chunked_attention");
        AssertRefused("tiny-qwen3", c => c["layer_types"] = new JsonArray("sliding_attention", "full_attention"), "layer_types[0]", "no sliding window is in effect");
        AssertRefused("tiny-qwen3", c => c["mlp_bias"] = true, "mlp_bias", "Qwen3");
        AssertRefused("tiny-mistral", c => c["attention_bias"] = true, "attention_bias", "Mistral");
        AssertRefused("tiny-qwen3", c => c["model_type"] = "llama", "model_type", "contradicts");
        AssertRefused("tiny-qwen3", c => c["architectures"] = new JsonArray("Qwen3ForSequenceClassification"), "architectures", "Qwen3ForSequenceClassification");
    }

    [TestCase("Qwen3Model", ModelFamily.Qwen3)]
    [TestCase("Qwen2Model", ModelFamily.Qwen2)]
    [TestCase("LlamaModel", ModelFamily.Llama)]
    [TestCase("MistralModel", ModelFamily.Mistral)]
    public void Base_model_architectures_are_accepted(string architecture, ModelFamily family)
    {
        var fixture = family switch
        {
            ModelFamily.Qwen3 => "tiny-qwen3",
            ModelFamily.Qwen2 => "tiny-qwen2",
            ModelFamily.Llama => "tiny-llama",
            _ => "tiny-mistral",
        };
        Assert.That(Parse(fixture, c => c["architectures"] = new JsonArray(architecture)).Family, Is.EqualTo(family));
    }

    [Test]
    public void Parameter_count_includes_biases_and_q_k_norms()
    {
        var qwen3 = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-qwen3"), "config.json"));
        // embed 151669*40 + 2 layers * (q 40*64 + k,v 2*40*32 + o 64*40 + norms 2*16 + mlp 3*40*80 + 2*40) + final norm 40; tied.
        long perLayer = 40 * 64 + 2 * 40 * 32 + 64 * 40 + 2 * 16 + 3 * 40 * 80 + 2 * 40;
        Assert.That(qwen3.ParameterCount(includeLanguageModelHead: true), Is.EqualTo(151669L * 40 + 2 * perLayer + 40));
        var qwen2 = DecoderConfig.Load(Path.Combine(TestPaths.Fixture("tiny-qwen2"), "config.json"));
        long qwen2Layer = 48 * 48 + 2 * 48 * 24 + 48 * 48 + (48 + 2 * 24) + 3 * 48 * 96 + 2 * 48;
        Assert.That(qwen2.ParameterCount(includeLanguageModelHead: true), Is.EqualTo(151936L * 48 + 2 * qwen2Layer + 48));
    }
}
