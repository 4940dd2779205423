using System.Globalization;
using System.Numerics.Tensors;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.AI;

/// <summary>
/// Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over an <see cref="IEmbeddingModel"/>.
/// Honours <see cref="EmbeddingGenerationOptions.Dimensions"/> (truncating, then re-normalising when the model
/// normalises), per-call role, instruction, prompt name and truncation (<see cref="EmbeddingGenerationOptionsExtensions"/>),
/// and reports tokens in <see cref="GeneratedEmbeddings{TEmbedding}.Usage"/>.
/// </summary>
/// <remarks>
/// Build pipelines with <see cref="EmbeddingModelExtensions.AsEmbeddingGeneratorBuilder"/> or the dependency-injection
/// registration rather than around this class directly: their first stage writes the model's settings into the
/// options, so caching middleware never shares entries between different models, poolings, prompts, roles or dimensions.
/// </remarks>
public sealed class LastTokenEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The provider name reported in <see cref="EmbeddingGeneratorMetadata"/> and telemetry.</summary>
    public const string ProviderName = "LastTokenEmbeddings";

    // Entry the settings stage writes, naming everything about the model that changes its vectors.
    internal const string ModelSettingsKey = "lte.model_settings";

    // Tokenised under the model's prompt format for the settings key: two custom formats with one name still differ.
    private const string PromptProbe = "The quick brown fox jumps over the lazy dog.";

    private readonly IEmbeddingModel model;
    private readonly bool ownsModel;
    private readonly Lazy<string> modelSettings;

    /// <summary>Wraps <paramref name="model"/>.</summary>
    /// <param name="model">The model to embed with.</param>
    /// <param name="role">Role of inputs whose options name none (query by default).</param>
    /// <param name="ownsModel">Whether disposing the generator disposes the model.</param>
    public LastTokenEmbeddingGenerator(IEmbeddingModel model, TextRole role = TextRole.Query, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!Enum.IsDefined(role)) throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown role.");
        this.model = model;
        this.ownsModel = ownsModel;
        Role = role;
        Metadata = new EmbeddingGeneratorMetadata(ProviderName, providerUri: null, defaultModelId: model.ModelId, defaultModelDimensions: model.Dimensions);
        modelSettings = new Lazy<string>(DescribeModelSettings, LazyThreadSafetyMode.PublicationOnly);
    }

    /// <summary>The role of inputs whose options name none.</summary>
    public TextRole Role { get; }

    /// <summary>Provider, model id and dimensions.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>Everything about the model that changes its vectors, as one string (model, checkpoint, dtype, pooling, prompt, shaping).</summary>
    internal string ModelSettings => modelSettings.Value;

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var dimensions = options?.Dimensions ?? model.Dimensions;
        if (dimensions <= 0 || dimensions > model.Dimensions)
            throw new ArgumentOutOfRangeException(nameof(options), dimensions, $"Dimensions must lie in [1, {model.Dimensions}] for this model.");
        if (options?.ModelId is { } requested && requested != model.ModelId)
            throw new ArgumentException($"This generator serves model '{model.ModelId}', not '{requested}'.", nameof(options));
        var call = options.ToEmbeddingCallOptions(Role);

        var texts = values as IReadOnlyList<string> ?? values.ToArray();
        var results = await model.EmbedAsync(texts, call, progress: null, cancellationToken).ConfigureAwait(false);
        var created = DateTimeOffset.UtcNow;
        var embeddings = results.Select(result => new Embedding<float>(Shape(result.Vector, dimensions))
        {
            ModelId = model.ModelId,
            CreatedAt = created,
        });
        var tokens = results.Sum(result => (long)result.TokenCount);
        return new GeneratedEmbeddings<Embedding<float>>(embeddings)
        {
            Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
        };
    }

    private float[] Shape(float[] vector, int dimensions)
    {
        if (dimensions == vector.Length) return vector;
        var truncated = vector[..dimensions];
        if (model.Normalize)
        {
            // Normalising is a rescale, so re-normalising the prefix equals truncating before normalising.
            var norm = TensorPrimitives.Norm(truncated);
            if (norm > 0) TensorPrimitives.Divide(truncated, norm, truncated);
        }
        return truncated;
    }

    /// <summary>
    /// Returns <see cref="EmbeddingGeneratorMetadata"/>, the <see cref="IEmbeddingModel"/> (or <see cref="EmbeddingModel"/>),
    /// a copy of its <see cref="EmbeddingOptions"/>, or this generator; <see langword="null"/> for anything else or any key.
    /// </summary>
    /// <param name="serviceType">The type asked for.</param>
    /// <param name="serviceKey">Must be <see langword="null"/>.</param>
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return Metadata;
        if (serviceType == typeof(EmbeddingOptions)) return DescribeOptions();
        if (serviceType.IsInstanceOfType(model)) return model;
        if (serviceType.IsInstanceOfType(this)) return this;
        return null;
    }

    /// <summary>Disposes the model when this generator owns it; otherwise does nothing.</summary>
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }

    /// <summary>
    /// Writes into <paramref name="options"/> what a cache must key on (model settings, role, model id, dimensions),
    /// filling unset values with this generator's defaults, so equal vectors get equal keys and different ones never do.
    /// </summary>
    internal void WriteSettingsInto(EmbeddingGenerationOptions options)
    {
        options.ModelId ??= model.ModelId;
        options.Dimensions ??= model.Dimensions;
        if (!options.HasRole()) options.WithRole(Role);
        options.AdditionalProperties![ModelSettingsKey] = ModelSettings;
        // Caches serialise the entries in order: sort them so equal settings given in another order share a key.
        options.AdditionalProperties = new AdditionalPropertiesDictionary(options.AdditionalProperties.OrderBy(entry => entry.Key, StringComparer.Ordinal));
    }

    private EmbeddingOptions DescribeOptions() => model is EmbeddingModel loaded
        ? loaded.GetOptions()
        : new EmbeddingOptions
        {
            Pooling = model.Pooling,
            Prompt = model.Prompt,
            Normalize = model.Normalize,
            Dimensions = model.Dimensions,
            MaxTokens = model.MaxTokens,
        };

    private string DescribeModelSettings()
    {
        var invariant = CultureInfo.InvariantCulture;
        var pooling = model.Pooling;
        var parts = new List<string> { $"model={model.ModelId}" };
        if (model is EmbeddingModel loaded)
        {
            var options = loaded.GetOptions();
            parts.Add($"checkpoint={loaded.Checkpoint.Directory}");
            parts.Add($"dtype={loaded.Checkpoint.ComputeDType}");
            parts.Add($"truncation={options.Truncation}");
            parts.Add($"special_tokens={options.SpecialTokens}");
        }
        parts.Add($"pooling={pooling.Name}@{pooling.Layer?.ToString(invariant) ?? "final"}:{pooling.GetType().FullName}");
        parts.Add($"prompt={model.Prompt.Name}");
        parts.Add($"instruction={model.Prompt.Instruction}");
        parts.Add($"query_probe={string.Join(',', model.Tokenize(PromptProbe, TextRole.Query))}");
        parts.Add($"document_probe={string.Join(',', model.Tokenize(PromptProbe, TextRole.Document))}");
        parts.Add(string.Create(invariant, $"normalize={model.Normalize}"));
        parts.Add(string.Create(invariant, $"dimensions={model.Dimensions}"));
        parts.Add(string.Create(invariant, $"max_tokens={model.MaxTokens}"));
        return string.Join(';', parts);
    }
}
