using System.Globalization;

namespace LastTokenEmbeddings.Checkpoints;

/// <summary>
/// The rotary position embedding of a checkpoint: <c>default</c> (frequencies <c>1 / theta^(2i / head_dim)</c>) or
/// <c>llama3</c> (Llama 3.1's frequency-dependent scaling of those frequencies). Other rope types (linear, dynamic,
/// YaRN, LongRoPE) are refused when the configuration is read.
/// </summary>
public sealed record RotaryEmbeddingParameters
{
    /// <summary>"default" or "llama3".</summary>
    public string Type { get; init; } = "default";

    /// <summary>Base of the frequencies (<c>rope_theta</c>).</summary>
    public double Theta { get; init; } = 10000.0;

    /// <summary>llama3: how much low frequencies are divided by.</summary>
    public double Factor { get; init; } = 1.0;

    /// <summary>llama3: wavelengths above <c>original_max_position_embeddings / low_freq_factor</c> are scaled fully.</summary>
    public double LowFrequencyFactor { get; init; } = 1.0;

    /// <summary>llama3: wavelengths below <c>original_max_position_embeddings / high_freq_factor</c> are not scaled.</summary>
    public double HighFrequencyFactor { get; init; } = 4.0;

    /// <summary>llama3: the context length the model was pre-trained with.</summary>
    public int OriginalMaxPositionEmbeddings { get; init; } = 8192;

    /// <summary>Reads <c>rope_theta</c> and <c>rope_parameters</c> (transformers 5) or <c>rope_scaling</c> (legacy).</summary>
    internal static RotaryEmbeddingParameters Read(JsonFields config)
    {
        var theta = config.OptionalPositiveDouble("rope_theta");
        var partial = config.Get("partial_rotary_factor") is not null ? config.OptionalPositiveDouble("partial_rotary_factor") : null;
        if (partial is not null and not 1.0)
            throw config.Error("partial_rotary_factor", $"is {partial.Value.ToString(CultureInfo.InvariantCulture)}; only rotary embeddings over the whole head (1.0) are implemented.");

        var parameters = config.OptionalObject("rope_parameters");
        var scaling = config.OptionalObject("rope_scaling");
        if (parameters is { } p && p.Has("full_attention"))
            throw p.Error("holds per-layer-type rope parameters, which are not supported.");
        // transformers 5 writes rope_parameters; older configs write rope_scaling (null for the default rope).
        var source = parameters ?? scaling;
        var result = new RotaryEmbeddingParameters { Theta = theta ?? 10000.0 };
        if (source is not { } fields)
            return result;

        theta ??= fields.OptionalPositiveDouble("rope_theta");
        var nestedPartial = fields.OptionalPositiveDouble("partial_rotary_factor");
        if (nestedPartial is not null and not 1.0)
            throw fields.Error("partial_rotary_factor", $"is {nestedPartial.Value.ToString(CultureInfo.InvariantCulture)}; only rotary embeddings over the whole head (1.0) are implemented.");
        var typeKey = fields.Has("rope_type") ? "rope_type" : "type";
        var type = fields.OptionalString(typeKey) ?? "default";
        result = result with { Theta = theta ?? 10000.0 };
        switch (type)
        {
            case "default":
                return result;
            case "llama3":
                var llama3 = result with
                {
                    Type = "llama3",
                    Factor = fields.OptionalPositiveDouble("factor") ?? throw fields.Error("factor", "is required for llama3 rope scaling."),
                    LowFrequencyFactor = fields.OptionalPositiveDouble("low_freq_factor") ?? throw fields.Error("low_freq_factor", "is required for llama3 rope scaling."),
                    HighFrequencyFactor = fields.OptionalPositiveDouble("high_freq_factor") ?? throw fields.Error("high_freq_factor", "is required for llama3 rope scaling."),
                    OriginalMaxPositionEmbeddings = fields.OptionalPositiveInt("original_max_position_embeddings")
                        ?? throw fields.Error("original_max_position_embeddings", "is required for llama3 rope scaling."),
                };
                if (llama3.HighFrequencyFactor <= llama3.LowFrequencyFactor)
                    throw fields.Error("high_freq_factor", "must exceed low_freq_factor.");
                return llama3;
            default:
                throw fields.Error(typeKey, $"'{type}' is not implemented; supported rope types are default and llama3.");
        }
    }
}
