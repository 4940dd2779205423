using System.Text;
using System.Text.Json.Nodes;
using CsCheck;
using LastTokenEmbeddings.Checkpoints;

namespace LastTokenEmbeddings.Tests.Checkpoints;

/// <summary>
/// Mutation fuzzing of <see cref="DecoderConfig.Parse(string, string)"/>: the fixture's config.json gets random
/// values of random JSON types in random keys, and random character edits. Parsing must either succeed with a
/// self-consistent configuration or throw <see cref="CheckpointException"/>. LTE_FUZZ_ITERATIONS sets the budget.
/// </summary>
[Category("Fuzz")]
public class DecoderConfigFuzzTests
{
    private static readonly string[] Keys =
    [
        "architectures", "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
        "num_key_value_heads", "head_dim", "hidden_act", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
        "rope_parameters", "sliding_window", "tie_word_embeddings", "dtype", "torch_dtype", "bos_token_id", "eos_token_id", "attention_bias",
        "mlp_bias", "layer_types", "use_sliding_window", "max_window_layers", "partial_rotary_factor",
    ];

    private static readonly string[] Values =
    [
        "null", "0", "-1", "1", "2", "3", "7", "16", "64", "2147483647", "2147483648", "-2147483649", "1e308", "-1e308", "1.5", "0.0", "NaN",
        "true", "false", "\"\"", "\"silu\"", "\"mistral\"", "\"bfloat16\"", "\"float32\"", "\"x\"", "[]", "[1]", "[\"MistralModel\"]",
        "[\"LlamaForCausalLM\"]", "{}", "{\"rope_type\":\"yarn\"}", "{\"rope_type\":\"default\",\"rope_theta\":-1}", "{\"rope_theta\":5e5}",
        "[[[]]]", "\"\\ud800\"", "[\"Qwen3ForCausalLM\"]", "[\"Qwen2Model\"]", "\"qwen3\"", "\"llama\"",
        "[\"full_attention\",\"full_attention\"]", "[\"sliding_attention\",\"full_attention\"]", "[\"full_attention\"]", "[1,2]",
        "{\"rope_type\":\"llama3\",\"rope_theta\":5e5,\"factor\":8,\"low_freq_factor\":1,\"high_freq_factor\":4,\"original_max_position_embeddings\":64}",
        "{\"rope_type\":\"llama3\",\"factor\":8}", "{\"full_attention\":{}}", "0.5", "1e15", "4096.0",
    ];

    /// <summary>Base configs of every family: the mutations start from each in turn.</summary>
    private static readonly string[] Bases = ["tiny-mistral", "tiny-qwen3", "tiny-qwen2", "tiny-llama", "tiny-llama3-rope"];

    [Test]
    public void Mutated_configs_parse_consistently_or_fail_with_CheckpointException()
    {
        var iterations = Fuzzing.Iterations(3000);
        var originals = Bases.Select(name => File.ReadAllText(Path.Combine(TestPaths.Fixture(name), "config.json"))).ToArray();
        var edit = Gen.Select(Gen.Int[0, Keys.Length - 1], Gen.Int[0, Values.Length - 1], Gen.Bool);
        var textEdit = Gen.Select(Gen.Double[0, 1], Gen.Char, Gen.Int[0, 2]);
        var accepted = 0;
        var rejected = 0;
        Gen.Select(Gen.Int[0, Bases.Length - 1], edit.Array[1, 5], textEdit.Array[0, 2]).Sample((baseIndex, edits, textEdits) =>
        {
            var json = Fuzzing.RawFields(JsonNode.Parse(originals[baseIndex])!.AsObject());
            foreach (var (key, value, remove) in edits)
            {
                if (remove) json.Remove(Keys[key]);
                else json[Keys[key]] = Values[value];
            }
            var text = new StringBuilder(Fuzzing.ObjectText(json));
            foreach (var (position, c, kind) in textEdits)
                Fuzzing.EditCharacter(text, position, c, kind);
            try
            {
                var config = DecoderConfig.Parse(text.ToString(), "fuzz/config.json");
                Assert.That(config.HiddenSize > 0 && config.VocabSize > 0 && config.IntermediateSize > 0 && config.NumHiddenLayers > 0, Is.True);
                Assert.That(config.NumAttentionHeads % config.NumKeyValueHeads, Is.Zero);
                Assert.That(config.HeadDim > 0 && config.HeadDim % 2 == 0, Is.True);
                Assert.That(config.SlidingWindow is null or > 0, Is.True);
                Assert.That(double.IsFinite(config.RopeTheta) && config.RopeTheta > 0 && config.RmsNormEps > 0, Is.True);
                Assert.That((config.EosTokenId ?? 0) < config.VocabSize && (config.BosTokenId ?? 0) < config.VocabSize, Is.True);
                Assert.That(config.LayerSlidingWindows, Has.Count.EqualTo(config.NumHiddenLayers));
                Assert.That(config.Rope.Type is "default" or "llama3", Is.True);
                Interlocked.Increment(ref accepted);
            }
            catch (CheckpointException e)
            {
                Assert.That(e.FilePath, Is.EqualTo("fuzz/config.json"));
                Interlocked.Increment(ref rejected);
            }
        }, iter: iterations);
        TestContext.Out.WriteLine($"config fuzz: {accepted} accepted, {rejected} rejected");
        Assert.That(accepted, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(0));
    }
}
