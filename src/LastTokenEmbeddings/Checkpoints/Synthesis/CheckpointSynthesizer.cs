using System.Globalization;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.Checkpoints.Synthesis;

/// <summary>
/// Writes random Mistral checkpoints in the Hugging Face layout (sharded safetensors, index, config.json),
/// for benchmarks and tests that need a model of a real shape without downloading one. Weights are drawn from
/// N(0, 0.02) and RMSNorm weights are 1. Memory stays bounded: one shard is generated, written and freed at a
/// time, so a 7B checkpoint can be written with a few GB of RAM.
/// </summary>
public static class CheckpointSynthesizer
{
    /// <summary>The names <see cref="Preset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["109m", "tinyllama-1.1b", "mistral-7b"];

    /// <summary>
    /// A standard model shape: "109m" (8 layers, hidden 1024), "tinyllama-1.1b" (22 layers, hidden 2048) or
    /// "mistral-7b" (32 layers, hidden 4096, sliding window 4096). All use a 32000-token vocabulary, so the
    /// Mistral/Llama <c>tokenizer.model</c> fits them.
    /// </summary>
    /// <param name="name">One of <see cref="PresetNames"/> (case-insensitive).</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static MistralConfig Preset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "109m" => new MistralConfig
            {
                Architecture = "MistralForCausalLM", VocabSize = 32000, HiddenSize = 1024, IntermediateSize = 3584,
                NumHiddenLayers = 8, NumAttentionHeads = 16, NumKeyValueHeads = 4, HeadDim = 64,
                MaxPositionEmbeddings = 4096, RmsNormEps = 1e-5, SlidingWindow = null,
            },
            "tinyllama-1.1b" => new MistralConfig
            {
                Architecture = "MistralForCausalLM", VocabSize = 32000, HiddenSize = 2048, IntermediateSize = 5632,
                NumHiddenLayers = 22, NumAttentionHeads = 32, NumKeyValueHeads = 4, HeadDim = 64,
                MaxPositionEmbeddings = 2048, RmsNormEps = 1e-5, SlidingWindow = null,
            },
            "mistral-7b" => new MistralConfig
            {
                Architecture = "MistralForCausalLM", VocabSize = 32000, HiddenSize = 4096, IntermediateSize = 14336,
                NumHiddenLayers = 32, NumAttentionHeads = 32, NumKeyValueHeads = 8, HeadDim = 128,
                MaxPositionEmbeddings = 32768, RmsNormEps = 1e-5, RopeTheta = 10000.0, SlidingWindow = 4096,
            },
            _ => throw new ArgumentException($"Unknown preset '{name}'; expected one of: {string.Join(", ", PresetNames)}.", nameof(name)),
        };
    }

    /// <summary>
    /// Writes a random checkpoint of shape <paramref name="config"/> into <paramref name="directory"/> (created if
    /// needed): <c>model-0000k-of-0000n.safetensors</c> shards, <c>model.safetensors.index.json</c>, <c>config.json</c>
    /// and, when given, a copy of <c>tokenizer.model</c>. Existing files of the same names are replaced.
    /// </summary>
    /// <param name="directory">The model directory to write.</param>
    /// <param name="config">The architecture; its <see cref="MistralConfig.DType"/> and <see cref="MistralConfig.Architecture"/> are overridden.</param>
    /// <param name="dtype">Stored dtype: <see cref="SafetensorsDType.F32"/>, <see cref="SafetensorsDType.BF16"/> or <see cref="SafetensorsDType.F16"/>.</param>
    /// <param name="maxShardBytes">Largest shard size; a tensor bigger than this gets a shard of its own.</param>
    /// <param name="seed">Seed of the random weights; each tensor's stream depends only on the seed and the tensor's position, not on sharding.</param>
    /// <param name="tokenizerModelPath">A SentencePiece <c>tokenizer.model</c> to copy in, or <see langword="null"/>.</param>
    /// <param name="baseModelLayout">Write a bare <c>MistralModel</c> (names without <c>model.</c>, no <c>lm_head</c>).</param>
    /// <returns>The total bytes of tensor data written.</returns>
    /// <exception cref="ArgumentException">An unsupported dtype or a non-positive shard size.</exception>
    public static long Write(string directory, MistralConfig config, SafetensorsDType dtype, long maxShardBytes = 2L << 30,
        int seed = 0, string? tokenizerModelPath = null, bool baseModelLayout = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        var scalarType = dtype switch
        {
            SafetensorsDType.F32 => ScalarType.Float32,
            SafetensorsDType.BF16 => ScalarType.BFloat16,
            SafetensorsDType.F16 => ScalarType.Float16,
            _ => throw new ArgumentException($"dtype {dtype} is not a weight dtype; expected F32, BF16 or F16.", nameof(dtype)),
        };
        if (tokenizerModelPath is not null && !File.Exists(tokenizerModelPath))
            throw new FileNotFoundException("tokenizer.model to copy was not found.", tokenizerModelPath);
        Directory.CreateDirectory(directory);

        var specs = Tensors(config, baseModelLayout);
        var elementSize = dtype.ByteSize();
        var shards = PlanShards(specs, elementSize, maxShardBytes);
        var total = specs.Sum(s => s.Elements * elementSize);
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var k = 0; k < shards.Count; k++)
        {
            var fileName = string.Create(CultureInfo.InvariantCulture, $"model-{k + 1:D5}-of-{shards.Count:D5}.safetensors");
            WriteShard(Path.Combine(directory, fileName), shards[k], scalarType, seed);
            foreach (var spec in shards[k])
                weightMap[spec.Name] = fileName;
        }

        WriteIndex(Path.Combine(directory, ShardedCheckpoint.IndexFileName), total, specs.Sum(s => s.Elements), weightMap);
        var configPath = Path.Combine(directory, "config.json");
        File.WriteAllText(configPath, ToConfigJson(config, dtype, baseModelLayout));
        MistralConfig.Load(configPath); // the file must read back as a valid configuration
        var single = Path.Combine(directory, ShardedCheckpoint.SingleFileName);
        if (File.Exists(single))
            File.Delete(single); // would take precedence over the index
        if (tokenizerModelPath is not null)
            File.Copy(tokenizerModelPath, Path.Combine(directory, "tokenizer.model"), overwrite: true);
        return total;
    }

    /// <summary>
    /// The Hugging Face <c>config.json</c> text for <paramref name="config"/> stored as <paramref name="dtype"/>.
    /// </summary>
    /// <param name="config">The architecture.</param>
    /// <param name="dtype">The stored dtype (F32, BF16 or F16).</param>
    /// <param name="baseModelLayout">Whether the checkpoint is a bare <c>MistralModel</c>.</param>
    public static string ToConfigJson(MistralConfig config, SafetensorsDType dtype, bool baseModelLayout = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        var dtypeName = dtype switch
        {
            SafetensorsDType.F32 => "float32",
            SafetensorsDType.BF16 => "bfloat16",
            SafetensorsDType.F16 => "float16",
            _ => throw new ArgumentException($"dtype {dtype} is not a weight dtype; expected F32, BF16 or F16.", nameof(dtype)),
        };
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue(baseModelLayout ? "MistralModel" : "MistralForCausalLM");
            json.WriteEndArray();
            json.WriteNumber("attention_dropout", 0.0);
            json.WriteNumber("bos_token_id", config.BosTokenId);
            json.WriteString("dtype", dtypeName);
            json.WriteNumber("eos_token_id", config.EosTokenId);
            json.WriteNumber("head_dim", config.HeadDim);
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("initializer_range", 0.02);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteString("model_type", "mistral");
            json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
            json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
            json.WriteNumber("num_key_value_heads", config.NumKeyValueHeads);
            json.WriteNull("pad_token_id");
            json.WriteNumber("rms_norm_eps", config.RmsNormEps);
            json.WriteNumber("rope_theta", config.RopeTheta);
            if (config.SlidingWindow is { } window)
                json.WriteNumber("sliding_window", window);
            else
                json.WriteNull("sliding_window");
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            json.WriteString("torch_dtype", dtypeName);
            json.WriteBoolean("use_cache", true);
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private sealed record TensorSpec(int Ordinal, string Name, long[] Shape, bool IsNorm)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    }

    private static List<TensorSpec> Tensors(MistralConfig config, bool baseModelLayout)
    {
        var prefix = baseModelLayout ? "" : "model.";
        long hidden = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        var specs = new List<TensorSpec>();
        void Add(string name, bool isNorm, params long[] shape) => specs.Add(new TensorSpec(specs.Count, name, shape, isNorm));
        Add($"{prefix}embed_tokens.weight", false, config.VocabSize, hidden);
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var layer = string.Create(CultureInfo.InvariantCulture, $"{prefix}layers.{i}.");
            Add(layer + "input_layernorm.weight", true, hidden);
            Add(layer + "self_attn.q_proj.weight", false, q, hidden);
            Add(layer + "self_attn.k_proj.weight", false, kv, hidden);
            Add(layer + "self_attn.v_proj.weight", false, kv, hidden);
            Add(layer + "self_attn.o_proj.weight", false, hidden, q);
            Add(layer + "post_attention_layernorm.weight", true, hidden);
            Add(layer + "mlp.gate_proj.weight", false, config.IntermediateSize, hidden);
            Add(layer + "mlp.up_proj.weight", false, config.IntermediateSize, hidden);
            Add(layer + "mlp.down_proj.weight", false, hidden, config.IntermediateSize);
        }
        Add($"{prefix}norm.weight", true, hidden);
        if (!baseModelLayout && !config.TieWordEmbeddings)
            Add("lm_head.weight", false, config.VocabSize, hidden);
        return specs;
    }

    /// <summary>Greedy: tensors in model order, a new shard whenever the next tensor would overflow the current one.</summary>
    private static List<List<TensorSpec>> PlanShards(List<TensorSpec> specs, int elementSize, long maxShardBytes)
    {
        var shards = new List<List<TensorSpec>>();
        List<TensorSpec>? current = null;
        long size = 0;
        foreach (var spec in specs)
        {
            var bytes = spec.Elements * elementSize;
            if (current is null || (size + bytes > maxShardBytes && current.Count > 0))
            {
                current = [];
                shards.Add(current);
                size = 0;
            }
            current.Add(spec);
            size += bytes;
        }
        return shards;
    }

    private static void WriteShard(string path, List<TensorSpec> specs, ScalarType dtype, int seed)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>(specs.Count);
        foreach (var spec in specs)
        {
            Tensor value;
            if (spec.IsNorm)
            {
                value = ones(spec.Shape, dtype);
            }
            else
            {
                using var generator = new TorchSharp.torch.Generator(unchecked((ulong)(uint)seed * 1_000_003UL + (ulong)spec.Ordinal));
                var draw = empty(spec.Shape, ScalarType.Float32).normal_(0.0, 0.02, generator);
                if (dtype == ScalarType.Float32)
                {
                    value = draw;
                }
                else
                {
                    value = draw.to(dtype);
                    draw.Dispose(); // keep only the stored-dtype copy alive until the shard is written
                }
            }
            tensors.Add(new KeyValuePair<string, Tensor>(spec.Name, value));
        }
        SafetensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
    }

    private static void WriteIndex(string path, long totalBytes, long totalParameters, SortedDictionary<string, string> weightMap)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write);
        using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteStartObject("metadata");
        json.WriteNumber("total_parameters", totalParameters);
        json.WriteNumber("total_size", totalBytes);
        json.WriteEndObject();
        json.WriteStartObject("weight_map");
        foreach (var (name, file) in weightMap)
            json.WriteString(name, file);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
