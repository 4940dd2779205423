using System.Globalization;
using System.Text.Json;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// The architecture hyper-parameters of a Mistral-family checkpoint, read from its Hugging Face
/// <c>config.json</c>. Absent optional values take the defaults of transformers' <c>MistralConfig</c>.
/// </summary>
public sealed record MistralConfig
{
    /// <summary>Number of token embeddings (rows of <c>embed_tokens</c>).</summary>
    public required int VocabSize { get; init; }

    /// <summary>Width of the residual stream.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>Width of the SwiGLU MLP's inner layer.</summary>
    public required int IntermediateSize { get; init; }

    /// <summary>Number of decoder layers.</summary>
    public required int NumHiddenLayers { get; init; }

    /// <summary>Number of query heads.</summary>
    public required int NumAttentionHeads { get; init; }

    /// <summary>Number of key/value heads (grouped-query attention); equals the query heads when absent.</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Width of one attention head; <c>hidden_size / num_attention_heads</c> when absent, but may differ from it.</summary>
    public required int HeadDim { get; init; }

    /// <summary>Longest sequence the model was trained for; the default token limit when embedding.</summary>
    public int MaxPositionEmbeddings { get; init; } = 4096 * 32;

    /// <summary>Epsilon of every RMSNorm.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>Base of the rotary position embedding frequencies.</summary>
    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>Sliding attention window: token i attends token j iff 0 &lt;= i - j &lt; window; <see langword="null"/> is plain causal attention.</summary>
    public int? SlidingWindow { get; init; } = 4096;

    /// <summary>Whether the LM head shares the token embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>The dtype the checkpoint declares (<c>dtype</c> or <c>torch_dtype</c>), e.g. "bfloat16"; <see langword="null"/> when absent.</summary>
    public string? DType { get; init; }

    /// <summary>Beginning-of-sequence token id.</summary>
    public int BosTokenId { get; init; } = 1;

    /// <summary>End-of-sequence token id.</summary>
    public int EosTokenId { get; init; } = 2;

    /// <summary>The first entry of <c>architectures</c>, e.g. "MistralForCausalLM"; <see langword="null"/> when absent.</summary>
    public string? Architecture { get; init; }

    /// <summary>Reads and validates <c>config.json</c>.</summary>
    /// <param name="path">Path of the <c>config.json</c> file.</param>
    /// <exception cref="CheckpointException">The file is missing, is not JSON, describes another architecture, or holds invalid or inconsistent values.</exception>
    public static MistralConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new CheckpointException(path, "config.json not found.");
        var fileInfo = new FileInfo(path);
        if (fileInfo.Length > 16 * 1024 * 1024)
            throw new CheckpointException(path, $"config.json is {fileInfo.Length} bytes; refusing to parse more than 16 MiB.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 64 });
            return Parse(document.RootElement, path);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"config.json is not valid JSON: {e.Message}", innerException: e);
        }
        catch (InvalidOperationException e) // e.g. a string holding a lone surrogate escape
        {
            throw new CheckpointException(path, $"config.json holds an unreadable value: {e.Message}", innerException: e);
        }
    }

    /// <summary>Parses a <c>config.json</c> document already in memory.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="sourceName">Name used in error messages (normally the file path).</param>
    /// <exception cref="CheckpointException">The text is not JSON or holds invalid or inconsistent values.</exception>
    public static MistralConfig Parse(string json, string sourceName = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
            return Parse(document.RootElement, sourceName);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(sourceName, $"config.json is not valid JSON: {e.Message}", innerException: e);
        }
        catch (InvalidOperationException e)
        {
            throw new CheckpointException(sourceName, $"config.json holds an unreadable value: {e.Message}", innerException: e);
        }
    }

    private static MistralConfig Parse(JsonElement root, string path)
    {
        var reader = new ConfigReader(root, path);
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, "config.json must hold a JSON object.");

        var architecture = reader.FirstArchitecture();
        var modelType = reader.OptionalString("model_type");
        if (architecture is not null && architecture is not ("MistralForCausalLM" or "MistralModel"))
            throw new CheckpointException(path, $"architecture '{architecture}' is not supported; expected MistralForCausalLM or MistralModel.");
        if (modelType is not null && modelType != "mistral")
            throw new CheckpointException(path, $"model_type '{modelType}' is not supported; expected 'mistral'.");
        if (architecture is null && modelType is null)
            throw new CheckpointException(path, "neither 'architectures' nor 'model_type' says this is a Mistral checkpoint.");

        var hidden = reader.RequiredPositiveInt("hidden_size");
        var heads = reader.RequiredPositiveInt("num_attention_heads");
        var kvHeads = reader.OptionalPositiveInt("num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0)
            throw new CheckpointException(path, $"num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kvHeads}).");
        var headDim = reader.OptionalPositiveInt("head_dim");
        if (headDim is null && hidden % heads != 0)
            throw new CheckpointException(path, $"hidden_size ({hidden}) is not divisible by num_attention_heads ({heads}) and head_dim is not given.");
        headDim ??= hidden / heads;
        if (headDim % 2 != 0)
            throw new CheckpointException(path, $"head_dim ({headDim}) must be even for rotary embeddings.");

        var activation = reader.OptionalString("hidden_act") ?? "silu";
        if (activation != "silu")
            throw new CheckpointException(path, $"hidden_act '{activation}' is not supported; only 'silu' is implemented.");
        if (reader.OptionalBool("attention_bias") == true || reader.OptionalBool("mlp_bias") == true)
            throw new CheckpointException(path, "attention_bias/mlp_bias are not part of the Mistral architecture and are not supported.");

        var config = new MistralConfig
        {
            Architecture = architecture,
            VocabSize = reader.RequiredPositiveInt("vocab_size"),
            HiddenSize = hidden,
            IntermediateSize = reader.RequiredPositiveInt("intermediate_size"),
            NumHiddenLayers = reader.RequiredPositiveInt("num_hidden_layers"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim.Value,
            MaxPositionEmbeddings = reader.OptionalPositiveInt("max_position_embeddings") ?? 4096 * 32,
            RmsNormEps = reader.OptionalPositiveDouble("rms_norm_eps") ?? 1e-6,
            RopeTheta = reader.RopeTheta(),
            SlidingWindow = reader.Has("sliding_window") ? reader.OptionalPositiveInt("sliding_window") : 4096,
            TieWordEmbeddings = reader.OptionalBool("tie_word_embeddings") ?? false,
            DType = reader.OptionalString("dtype") ?? reader.OptionalString("torch_dtype"),
            BosTokenId = reader.OptionalTokenId("bos_token_id") ?? 1,
            EosTokenId = reader.OptionalTokenId("eos_token_id") ?? 2,
        };
        if (config.DType is not null and not ("float32" or "bfloat16" or "float16"))
            throw new CheckpointException(path, $"dtype '{config.DType}' is not supported; expected float32, bfloat16 or float16.");
        if (config.BosTokenId >= config.VocabSize || config.EosTokenId >= config.VocabSize)
            throw new CheckpointException(path, $"bos_token_id ({config.BosTokenId}) or eos_token_id ({config.EosTokenId}) is outside the vocabulary of {config.VocabSize}.");
        return config;
    }

    /// <summary>Typed, strict access to config.json values; every error names the file and key.</summary>
    private readonly struct ConfigReader(JsonElement root, string path)
    {
        public bool Has(string key) => root.TryGetProperty(key, out _);

        private JsonElement? Get(string key) =>
            root.TryGetProperty(key, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

        public string? FirstArchitecture()
        {
            if (Get("architectures") is not { } list) return null;
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0 || list[0].ValueKind != JsonValueKind.String)
                throw new CheckpointException(path, "'architectures' must be a non-empty array of strings.");
            return list[0].GetString();
        }

        public string? OptionalString(string key)
        {
            if (Get(key) is not { } value) return null;
            return value.ValueKind == JsonValueKind.String
                ? value.GetString()
                : throw new CheckpointException(path, $"'{key}' must be a string, not {value.ValueKind}.");
        }

        public bool? OptionalBool(string key)
        {
            if (Get(key) is not { } value) return null;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new CheckpointException(path, $"'{key}' must be true or false, not {value.ValueKind}."),
            };
        }

        public int RequiredPositiveInt(string key) =>
            OptionalPositiveInt(key) ?? throw new CheckpointException(path, $"required key '{key}' is missing or null.");

        public int? OptionalPositiveInt(string key)
        {
            if (Get(key) is not { } value) return null;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
                throw new CheckpointException(path, $"'{key}' must be an integer, not {value.GetRawText()}.");
            if (number <= 0 || number > int.MaxValue)
                throw new CheckpointException(path, $"'{key}' must be a positive integer below 2^31, not {number}.");
            return (int)number;
        }

        public double? OptionalPositiveDouble(string key)
        {
            if (Get(key) is not { } value) return null;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number) || number <= 0)
                throw new CheckpointException(path, $"'{key}' must be a positive number, not {value.GetRawText()}.");
            return number;
        }

        public int? OptionalTokenId(string key)
        {
            if (Get(key) is not { } value) return null;
            // Some checkpoints list several EOS ids; the first is the one prompts append.
            var first = value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0 ? value[0] : value;
            if (first.ValueKind != JsonValueKind.Number || !first.TryGetInt32(out var id) || id < 0)
                throw new CheckpointException(path, $"'{key}' must be a non-negative integer, not {value.GetRawText()}.");
            return id;
        }

        public double RopeTheta()
        {
            var theta = OptionalPositiveDouble("rope_theta");
            if (Get("rope_parameters") is { } parameters)
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                    throw new CheckpointException(path, "'rope_parameters' must be an object.");
                var nested = new ConfigReader(parameters, path);
                RejectRopeScaling(nested.OptionalString("rope_type") ?? nested.OptionalString("type"));
                theta ??= nested.OptionalPositiveDouble("rope_theta");
            }
            if (Get("rope_scaling") is { } scaling)
            {
                if (scaling.ValueKind != JsonValueKind.Object)
                    throw new CheckpointException(path, "'rope_scaling' must be an object or null.");
                var nested = new ConfigReader(scaling, path);
                RejectRopeScaling(nested.OptionalString("rope_type") ?? nested.OptionalString("type"));
            }
            return theta ?? 10000.0;
        }

        private void RejectRopeScaling(string? ropeType)
        {
            if (ropeType is not null and not "default")
                throw new CheckpointException(path, $"rope scaling type '{ropeType}' is not implemented; only the default rotary embedding is supported.");
        }
    }

    /// <summary>Total parameter count implied by the configuration (embeddings and LM head included when present).</summary>
    /// <param name="includeLanguageModelHead">Whether to count an untied LM head.</param>
    public long ParameterCount(bool includeLanguageModelHead)
    {
        long h = HiddenSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim;
        var perLayer = h * q + 2 * h * kv + q * h + 3 * h * IntermediateSize + 2 * h;
        var head = includeLanguageModelHead && !TieWordEmbeddings ? (long)VocabSize * h : 0;
        return (long)VocabSize * h + NumHiddenLayers * perLayer + h + head;
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Architecture ?? "Mistral"}: {NumHiddenLayers} layers, hidden {HiddenSize}, {NumAttentionHeads} heads ({NumKeyValueHeads} KV, head_dim {HeadDim}), intermediate {IntermediateSize}, vocab {VocabSize}, window {SlidingWindow?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
}
