using System.Globalization;
using System.Text.Json;
using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Checkpoints.Safetensors;
using static TorchSharp.torch;

namespace LastTokenEmbeddings.TestSupport;

/// <summary>
/// Writes random decoder checkpoints of any supported family in the Hugging Face layout (sharded safetensors, index, config.json),
/// for benchmarks and tests that need a model of a real shape without downloading one. Weights are drawn from
/// N(0, 0.02) and RMSNorm weights are 1. Memory stays bounded: one shard is generated, written and freed at a
/// time, so a 7B checkpoint can be written with a few GB of RAM.
/// </summary>
internal static class CheckpointSynthesizer
{
    /// <summary>The names <see cref="Preset"/> accepts.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["109m", "tinyllama-1.1b", "mistral-7b", "qwen3-0.6b", "qwen3-4b"];

    /// <summary>
    /// A standard model shape: Mistral-style "109m" (8 layers, hidden 1024), "tinyllama-1.1b" (22 layers, hidden 2048)
    /// and "mistral-7b" (32 layers, hidden 4096, sliding window 4096), all with a 32000-token vocabulary so the
    /// Mistral/Llama <c>tokenizer.model</c> fits them; and Qwen3 "qwen3-0.6b" (28 layers, hidden 1024, 16 heads / 8 KV,
    /// head_dim 128, intermediate 3072, tied) and "qwen3-4b" (36 layers, hidden 2560, 32 / 8 heads, intermediate 9728,
    /// tied), with the 151669-token Qwen3 vocabulary.
    /// </summary>
    /// <param name="name">One of <see cref="PresetNames"/> (case-insensitive).</param>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static DecoderConfig Preset(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "109m" => Mistral(vocab: 32000, hidden: 1024, intermediate: 3584, layers: 8, heads: 16, kvHeads: 4, headDim: 64, maxPositions: 4096, window: null),
            "tinyllama-1.1b" => Mistral(vocab: 32000, hidden: 2048, intermediate: 5632, layers: 22, heads: 32, kvHeads: 4, headDim: 64, maxPositions: 2048, window: null),
            "mistral-7b" => Mistral(vocab: 32000, hidden: 4096, intermediate: 14336, layers: 32, heads: 32, kvHeads: 8, headDim: 128, maxPositions: 32768, window: 4096),
            "qwen3-0.6b" => Qwen3(hidden: 1024, intermediate: 3072, layers: 28, heads: 16, maxPositions: 32768),
            "qwen3-4b" => Qwen3(hidden: 2560, intermediate: 9728, layers: 36, heads: 32, maxPositions: 40960),
            _ => throw new ArgumentException($"Unknown preset '{name}'; expected one of: {string.Join(", ", PresetNames)}.", nameof(name)),
        };
    }

    private static DecoderConfig Mistral(int vocab, int hidden, int intermediate, int layers, int heads, int kvHeads, int headDim, int maxPositions, int? window) => new()
    {
        Family = ModelFamily.Mistral, Architecture = "MistralForCausalLM", VocabSize = vocab, HiddenSize = hidden, IntermediateSize = intermediate,
        NumHiddenLayers = layers, NumAttentionHeads = heads, NumKeyValueHeads = kvHeads, HeadDim = headDim,
        MaxPositionEmbeddings = maxPositions, RmsNormEps = 1e-5, LayerSlidingWindows = Enumerable.Repeat(window, layers).ToArray(),
        BosTokenId = 1, EosTokenId = 2,
    };

    private static DecoderConfig Qwen3(int hidden, int intermediate, int layers, int heads, int maxPositions) => new()
    {
        Family = ModelFamily.Qwen3, Architecture = "Qwen3ForCausalLM", VocabSize = 151669, HiddenSize = hidden, IntermediateSize = intermediate,
        NumHiddenLayers = layers, NumAttentionHeads = heads, NumKeyValueHeads = 8, HeadDim = 128, MaxPositionEmbeddings = maxPositions,
        RmsNormEps = 1e-6, Rope = new RotaryEmbeddingParameters { Theta = 1_000_000 }, QkNorm = true, TieWordEmbeddings = true,
        LayerSlidingWindows = new int?[layers], EosTokenId = 151643,
    };

    /// <summary>
    /// Writes a random checkpoint of shape <paramref name="config"/> into <paramref name="directory"/> (created if
    /// needed): <c>model-0000k-of-0000n.safetensors</c> shards, <c>model.safetensors.index.json</c>, <c>config.json</c>
    /// and, when given, copies of the tokenizer files of another model directory. Existing files of the same names are replaced.
    /// </summary>
    /// <param name="directory">The model directory to write.</param>
    /// <param name="config">The architecture; its <see cref="DecoderConfig.DType"/> and <see cref="DecoderConfig.Architecture"/> are overridden.</param>
    /// <param name="dtype">Stored dtype: <see cref="SafetensorsDType.F32"/>, <see cref="SafetensorsDType.BF16"/> or <see cref="SafetensorsDType.F16"/>.</param>
    /// <param name="maxShardBytes">Largest shard size; a tensor bigger than this gets a shard of its own.</param>
    /// <param name="seed">Seed of the random weights; each tensor's stream depends only on the seed and the tensor's position, not on sharding.</param>
    /// <param name="tokenizerDirectory">A model directory whose <c>tokenizer.model</c>, <c>tokenizer.json</c>, <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> (those present) are copied in, or <see langword="null"/>.</param>
    /// <param name="baseModelLayout">Write a bare decoder such as <c>MistralModel</c> (names without <c>model.</c>, no <c>lm_head</c>).</param>
    /// <returns>The total bytes of tensor data written.</returns>
    /// <exception cref="ArgumentException">An unsupported dtype or a non-positive shard size.</exception>
    public static long Write(string directory, DecoderConfig config, SafetensorsDType dtype, long maxShardBytes = 2L << 30,
        int seed = 0, string? tokenizerDirectory = null, bool baseModelLayout = false)
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
        if (tokenizerDirectory is not null && !Directory.Exists(tokenizerDirectory))
            throw new DirectoryNotFoundException($"Tokenizer directory '{tokenizerDirectory}' was not found.");
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
        DecoderConfig.Load(configPath); // the file must read back as a valid configuration
        var single = Path.Combine(directory, ShardedCheckpoint.SingleFileName);
        if (File.Exists(single))
            File.Delete(single); // would take precedence over the index
        foreach (var file in new[] { "tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
        {
            var source = tokenizerDirectory is null ? null : Path.Combine(tokenizerDirectory, file);
            if (source is not null && File.Exists(source))
                File.Copy(source, Path.Combine(directory, file), overwrite: true);
        }
        return total;
    }

    /// <summary>
    /// The Hugging Face <c>config.json</c> text for <paramref name="config"/> stored as <paramref name="dtype"/>.
    /// </summary>
    /// <param name="config">The architecture.</param>
    /// <param name="dtype">The stored dtype (F32, BF16 or F16).</param>
    /// <param name="baseModelLayout">Whether the checkpoint is a bare decoder (<c>MistralModel</c>, <c>Qwen3Model</c>, ...).</param>
    public static string ToConfigJson(DecoderConfig config, SafetensorsDType dtype, bool baseModelLayout = false)
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
            json.WriteStringValue(baseModelLayout ? $"{config.Family}Model" : $"{config.Family}ForCausalLM");
            json.WriteEndArray();
            if (config.AttentionOutputBias)
                json.WriteBoolean("attention_bias", true);
            if (config.MlpBias)
                json.WriteBoolean("mlp_bias", true);
            json.WriteNumber("attention_dropout", 0.0);
            WriteOptionalNumber(json, "bos_token_id", config.BosTokenId);
            json.WriteString("dtype", dtypeName);
            WriteOptionalNumber(json, "eos_token_id", config.EosTokenId);
            json.WriteNumber("head_dim", config.HeadDim);
            json.WriteString("hidden_act", "silu");
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("initializer_range", 0.02);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteString("model_type", config.Family.ToString().ToLowerInvariant());
            json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
            json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
            json.WriteNumber("num_key_value_heads", config.NumKeyValueHeads);
            json.WriteNull("pad_token_id");
            json.WriteNumber("rms_norm_eps", config.RmsNormEps);
            json.WriteStartObject("rope_parameters");
            json.WriteString("rope_type", config.Rope.Type);
            json.WriteNumber("rope_theta", config.RopeTheta);
            if (config.Rope.Type == "llama3")
            {
                json.WriteNumber("factor", config.Rope.Factor);
                json.WriteNumber("low_freq_factor", config.Rope.LowFrequencyFactor);
                json.WriteNumber("high_freq_factor", config.Rope.HighFrequencyFactor);
                json.WriteNumber("original_max_position_embeddings", config.Rope.OriginalMaxPositionEmbeddings);
            }
            json.WriteEndObject();
            if (config.Family == ModelFamily.Mistral)
            {
                if (config.SlidingWindow is { } window)
                    json.WriteNumber("sliding_window", window);
                else
                    json.WriteNull("sliding_window");
            }
            else if (config.Family is ModelFamily.Qwen2 or ModelFamily.Qwen3)
            {
                json.WriteBoolean("use_sliding_window", config.SlidingWindow is not null);
                WriteOptionalNumber(json, "sliding_window", config.SlidingWindow);
                json.WriteStartArray("layer_types");
                foreach (var window in config.LayerSlidingWindows)
                    json.WriteStringValue(window is null ? "full_attention" : "sliding_attention");
                json.WriteEndArray();
            }
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            json.WriteString("torch_dtype", dtypeName);
            json.WriteBoolean("use_cache", true);
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteOptionalNumber(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } number)
            json.WriteNumber(name, number);
        else
            json.WriteNull(name);
    }

    private sealed record TensorSpec(int Ordinal, string Name, long[] Shape, bool IsNorm)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    }

    private static List<TensorSpec> Tensors(DecoderConfig config, bool baseModelLayout)
    {
        var prefix = baseModelLayout ? "" : "model.";
        long hidden = config.HiddenSize, q = (long)config.NumAttentionHeads * config.HeadDim, kv = (long)config.NumKeyValueHeads * config.HeadDim;
        var specs = new List<TensorSpec>();
        void Add(string name, bool isNorm, params long[] shape) => specs.Add(new TensorSpec(specs.Count, name, shape, isNorm));
        void AddLinear(string name, long outFeatures, long inFeatures, bool bias)
        {
            Add(name + ".weight", false, outFeatures, inFeatures);
            if (bias)
                Add(name + ".bias", false, outFeatures);
        }
        Add($"{prefix}embed_tokens.weight", false, config.VocabSize, hidden);
        for (var i = 0; i < config.NumHiddenLayers; i++)
        {
            var layer = string.Create(CultureInfo.InvariantCulture, $"{prefix}layers.{i}.");
            Add(layer + "input_layernorm.weight", true, hidden);
            AddLinear(layer + "self_attn.q_proj", q, hidden, config.AttentionQkvBias);
            AddLinear(layer + "self_attn.k_proj", kv, hidden, config.AttentionQkvBias);
            AddLinear(layer + "self_attn.v_proj", kv, hidden, config.AttentionQkvBias);
            AddLinear(layer + "self_attn.o_proj", hidden, q, config.AttentionOutputBias);
            if (config.QkNorm)
            {
                Add(layer + "self_attn.q_norm.weight", true, config.HeadDim);
                Add(layer + "self_attn.k_norm.weight", true, config.HeadDim);
            }
            Add(layer + "post_attention_layernorm.weight", true, hidden);
            AddLinear(layer + "mlp.gate_proj", config.IntermediateSize, hidden, config.MlpBias);
            AddLinear(layer + "mlp.up_proj", config.IntermediateSize, hidden, config.MlpBias);
            AddLinear(layer + "mlp.down_proj", hidden, config.IntermediateSize, config.MlpBias);
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
