using System.Globalization;
using System.Text;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// The architecture of a decoder checkpoint (Mistral, Qwen2, Qwen3 or Llama), read from its Hugging Face
/// <c>config.json</c> in either the legacy form (<c>rope_theta</c>, <c>rope_scaling</c>, <c>torch_dtype</c>) or the
/// transformers-5 form (<c>rope_parameters</c>, <c>dtype</c>, <c>layer_types</c>). Absent values take the defaults
/// of the family's transformers configuration class. Anything the library cannot run exactly is refused.
/// </summary>
public sealed record DecoderConfig
{
    /// <summary>Which family's decoder this is.</summary>
    public required ModelFamily Family { get; init; }

    /// <summary>The first entry of <c>architectures</c>, e.g. "Qwen3ForCausalLM"; <see langword="null"/> when absent.</summary>
    public string? Architecture { get; init; }

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

    /// <summary>Number of key/value heads (grouped-query attention).</summary>
    public required int NumKeyValueHeads { get; init; }

    /// <summary>Width of one attention head (explicit <c>head_dim</c>, or the family's default).</summary>
    public required int HeadDim { get; init; }

    /// <summary>Longest sequence the model was trained for.</summary>
    public int MaxPositionEmbeddings { get; init; } = 4096 * 32;

    /// <summary>Epsilon of every RMSNorm.</summary>
    public double RmsNormEps { get; init; } = 1e-6;

    /// <summary>The rotary position embedding.</summary>
    public RotaryEmbeddingParameters Rope { get; init; } = new();

    /// <summary>Base of the rotary frequencies (<see cref="RotaryEmbeddingParameters.Theta"/>).</summary>
    public double RopeTheta => Rope.Theta;

    /// <summary>
    /// Per layer, its sliding attention window (token i attends key j iff 0 &lt;= i - j &lt; window), or
    /// <see langword="null"/> for full causal attention.
    /// </summary>
    public required IReadOnlyList<int?> LayerSlidingWindows
    {
        get => layerSlidingWindows;
        init => layerSlidingWindows = new ValueList<int?>(value ?? throw new ArgumentNullException(nameof(value)));
    }

    private readonly ValueList<int?> layerSlidingWindows = new([]);

    /// <summary>The sliding window of the windowed layers; <see langword="null"/> when every layer attends fully.</summary>
    public int? SlidingWindow => LayerSlidingWindows.FirstOrDefault(window => window is not null);

    /// <summary>Whether the q/k/v projections carry biases (Qwen2 always; Qwen3 and Llama with <c>attention_bias</c>).</summary>
    public bool AttentionQkvBias { get; init; }

    /// <summary>Whether the output projection carries a bias (<c>attention_bias</c> of Qwen3 and Llama).</summary>
    public bool AttentionOutputBias { get; init; }

    /// <summary>Whether the MLP projections carry biases (<c>mlp_bias</c> of Llama).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Whether each query and key head is RMS-normalised before rotary (Qwen3's <c>q_norm</c>/<c>k_norm</c>).</summary>
    public bool QkNorm { get; init; }

    /// <summary>Whether the LM head shares the token embedding matrix.</summary>
    public bool TieWordEmbeddings { get; init; }

    /// <summary>The dtype the checkpoint declares (<c>dtype</c> or <c>torch_dtype</c>), e.g. "bfloat16"; <see langword="null"/> when absent.</summary>
    public string? DType { get; init; }

    /// <summary>Beginning-of-sequence token id; <see langword="null"/> when the model has none (Qwen).</summary>
    public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence token id (the first, when several are listed).</summary>
    public int? EosTokenId { get; init; }

    /// <summary>Reads and validates <c>config.json</c>.</summary>
    /// <param name="path">Path of the <c>config.json</c> file.</param>
    /// <exception cref="CheckpointException">The file is missing or not JSON, describes an unsupported architecture, or holds invalid, inconsistent or unsupported values; the message names the file and the field.</exception>
    public static DecoderConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return JsonFields.ReadFile(path, Parse);
    }

    /// <summary>Parses a <c>config.json</c> document already in memory.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="sourceName">Name used in error messages (normally the file path).</param>
    /// <exception cref="CheckpointException">The text is not JSON or holds invalid, inconsistent or unsupported values.</exception>
    public static DecoderConfig Parse(string json, string sourceName = "config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        return JsonFields.Parse(Encoding.UTF8.GetBytes(json), sourceName, Parse);
    }

    private static DecoderConfig Parse(JsonFields fields)
    {
        var (traits, architecture) = Identify(fields);

        var hidden = fields.RequiredPositiveInt("hidden_size");
        var heads = fields.RequiredPositiveInt("num_attention_heads");
        var kvHeads = fields.OptionalPositiveInt("num_key_value_heads") ?? heads;
        if (heads % kvHeads != 0)
            throw fields.Error("num_attention_heads", $"({heads}) is not a multiple of num_key_value_heads ({kvHeads}).");
        var headDim = fields.OptionalPositiveInt("head_dim") ?? traits.DefaultHeadDim;
        if (headDim is null && hidden % heads != 0)
            throw fields.Error("hidden_size", $"({hidden}) is not divisible by num_attention_heads ({heads}) and head_dim is not given.");
        headDim ??= hidden / heads;
        if (headDim % 2 != 0)
            throw fields.Error("head_dim", $"({headDim}) must be even for rotary embeddings.");

        var activation = fields.OptionalString("hidden_act") ?? "silu";
        if (activation != "silu")
            throw fields.Error("hidden_act", $"'{activation}' is not supported; only 'silu' is implemented.");

        var attentionBias = fields.OptionalBool("attention_bias") ?? false;
        var mlpBias = fields.OptionalBool("mlp_bias") ?? false;
        if (attentionBias && !traits.AttentionBiasField)
            throw fields.Error("attention_bias", $"is true, but the {traits.Family} architecture has no attention biases to load it into.");
        if (mlpBias && !traits.MlpBiasField)
            throw fields.Error("mlp_bias", $"is true, but the {traits.Family} architecture has no MLP biases to load it into.");

        var layers = fields.RequiredPositiveInt("num_hidden_layers");
        var vocab = fields.RequiredPositiveInt("vocab_size");
        // Sizes far beyond any published model are refused before anything is allocated from them.
        Limit(fields, "num_hidden_layers", layers, 4096);
        Limit(fields, "num_attention_heads", heads, 65536);
        Limit(fields, "hidden_size", hidden, 1 << 20);
        Limit(fields, "head_dim", headDim.Value, 1 << 16);
        Limit(fields, "vocab_size", vocab, 1 << 26);
        var config = new DecoderConfig
        {
            Family = traits.Family,
            Architecture = architecture,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = fields.RequiredPositiveInt("intermediate_size"),
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim.Value,
            MaxPositionEmbeddings = fields.OptionalPositiveInt("max_position_embeddings") ?? 4096 * 32,
            RmsNormEps = fields.OptionalPositiveDouble("rms_norm_eps") ?? 1e-6,
            Rope = RotaryEmbeddingParameters.Read(fields),
            LayerSlidingWindows = ReadLayerWindows(fields, traits, layers),
            AttentionQkvBias = traits.QkvBias || attentionBias,
            AttentionOutputBias = attentionBias,
            MlpBias = mlpBias,
            QkNorm = traits.QkNorm,
            TieWordEmbeddings = fields.OptionalBool("tie_word_embeddings") ?? false,
            DType = fields.OptionalString("dtype") ?? fields.OptionalString("torch_dtype"),
            BosTokenId = fields.OptionalTokenId("bos_token_id"),
            EosTokenId = fields.OptionalTokenId("eos_token_id"),
        };
        if (config.DType is not null and not ("float32" or "bfloat16" or "float16"))
            throw fields.Error(fields.Has("dtype") ? "dtype" : "torch_dtype", $"'{config.DType}' is not supported; expected float32, bfloat16 or float16.");
        if (config.BosTokenId >= vocab)
            throw fields.Error("bos_token_id", $"({config.BosTokenId}) is outside the vocabulary of {vocab}.");
        if (config.EosTokenId >= vocab)
            throw fields.Error("eos_token_id", $"({config.EosTokenId}) is outside the vocabulary of {vocab}.");
        return config;
    }

    private static void Limit(JsonFields fields, string key, int value, int maximum)
    {
        if (value > maximum)
            throw fields.Error(key, $"is {value}; values above {maximum} are refused as implausible for a decoder checkpoint.");
    }

    /// <summary>The family from <c>architectures</c> and <c>model_type</c>, which must agree when both are present.</summary>
    private static (FamilyTraits Traits, string? Architecture) Identify(JsonFields fields)
    {
        var architectures = fields.OptionalStringList("architectures");
        if (architectures is { Count: 0 })
            throw fields.Error("architectures", "must be a non-empty list of strings.");
        var architecture = architectures?[0];
        var modelType = fields.OptionalString("model_type");
        var supported = string.Join(", ", FamilyTraits.All.SelectMany(t => new[] { t.CausalLMArchitecture, t.BaseModelArchitecture }));

        FamilyTraits? byArchitecture = null;
        if (architecture is not null)
        {
            byArchitecture = FamilyTraits.All.FirstOrDefault(t => architecture == t.CausalLMArchitecture || architecture == t.BaseModelArchitecture)
                ?? throw fields.Error("architectures", $"names '{architecture}', which is not supported; expected one of {supported}.");
        }
        FamilyTraits? byModelType = null;
        if (modelType is not null)
        {
            byModelType = FamilyTraits.All.FirstOrDefault(t => t.ModelType == modelType)
                ?? throw fields.Error("model_type", $"'{modelType}' is not supported; expected one of {string.Join(", ", FamilyTraits.All.Select(t => t.ModelType))}.");
        }
        if (byArchitecture is not null && byModelType is not null && byArchitecture != byModelType)
            throw fields.Error("model_type", $"'{modelType}' contradicts architectures '{architecture}'.");
        var traits = byArchitecture ?? byModelType
            ?? throw fields.Error($"neither 'architectures' nor 'model_type' is present, so the architecture is unknown; expected one of {supported}.");
        return (traits, architecture);
    }

    /// <summary>Each layer's window, from <c>layer_types</c> when present, else by the family's rule.</summary>
    private static IReadOnlyList<int?> ReadLayerWindows(JsonFields fields, FamilyTraits traits, int layers)
    {
        // The window that sliding layers use, as the family's configuration class resolves it.
        int? window = traits.SlidingWindow switch
        {
            SlidingWindowRule.None => null,
            SlidingWindowRule.EveryLayer => fields.Has("sliding_window") ? fields.OptionalPositiveInt("sliding_window") : 4096,
            _ => (fields.OptionalBool("use_sliding_window") ?? false)
                ? (fields.Has("sliding_window") ? fields.OptionalPositiveInt("sliding_window") : 4096)
                : null,
        };
        if (traits.SlidingWindow == SlidingWindowRule.UpperLayersWhenEnabled)
            fields.OptionalPositiveInt("sliding_window"); // validated even when disabled
        var maxWindowLayers = traits.SlidingWindow == SlidingWindowRule.UpperLayersWhenEnabled
            ? fields.OptionalNonNegativeInt("max_window_layers") ?? 28
            : 0;

        var types = fields.OptionalStringList("layer_types");
        if (types is null)
            return Enumerable.Range(0, layers).Select(i => i >= maxWindowLayers ? window : null).ToArray();

        if (types.Count != layers)
            throw fields.Error("layer_types", $"has {types.Count} entries but num_hidden_layers is {layers}.");
        var windows = new int?[layers];
        for (var i = 0; i < layers; i++)
        {
            windows[i] = types[i] switch
            {
                "full_attention" => null,
                "sliding_attention" when window is not null => window,
                "sliding_attention" => throw fields.Error($"layer_types[{i}]",
                    "is 'sliding_attention' but no sliding window is in effect (sliding_window is null or use_sliding_window is false)."),
                _ => throw fields.Error($"layer_types[{i}]", $"'{types[i]}' is not supported; expected full_attention or sliding_attention."),
            };
        }
        return windows;
    }

    /// <summary>Total parameter count implied by the configuration (embeddings and LM head included when present).</summary>
    /// <param name="includeLanguageModelHead">Whether to count an untied LM head.</param>
    public long ParameterCount(bool includeLanguageModelHead)
    {
        long h = HiddenSize, q = (long)NumAttentionHeads * HeadDim, kv = (long)NumKeyValueHeads * HeadDim, m = IntermediateSize;
        var attention = h * q + 2 * h * kv + q * h
            + (AttentionQkvBias ? q + 2 * kv : 0) + (AttentionOutputBias ? h : 0) + (QkNorm ? 2L * HeadDim : 0);
        var mlp = 3 * h * m + (MlpBias ? 2 * m + h : 0);
        var perLayer = attention + mlp + 2 * h;
        var head = includeLanguageModelHead && !TieWordEmbeddings ? (long)VocabSize * h : 0;
        return (long)VocabSize * h + NumHiddenLayers * perLayer + h + head;
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var windowed = LayerSlidingWindows.Count(w => w is not null);
        var window = windowed == 0 ? "none"
            : windowed == NumHiddenLayers ? SlidingWindow!.Value.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{SlidingWindow} on {windowed} of {NumHiddenLayers} layers");
        var extras = new List<string>();
        if (AttentionQkvBias) extras.Add(AttentionOutputBias ? "q/k/v/o biases" : "q/k/v biases");
        if (MlpBias) extras.Add("MLP biases");
        if (QkNorm) extras.Add("q/k norms");
        if (Rope.Type != "default") extras.Add($"{Rope.Type} rope");
        if (TieWordEmbeddings) extras.Add("tied embeddings");
        return string.Create(CultureInfo.InvariantCulture,
            $"{Architecture ?? Family.ToString()}: {NumHiddenLayers} layers, hidden {HiddenSize}, {NumAttentionHeads} heads ({NumKeyValueHeads} KV, head_dim {HeadDim}), intermediate {IntermediateSize}, vocab {VocabSize}, window {window}{(extras.Count > 0 ? ", " + string.Join(", ", extras) : "")}");
    }
}
