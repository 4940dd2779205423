using System.Numerics.Tensors;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.AI;

/// <summary>
/// Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over an <see cref="IEmbeddingModel"/>.
/// Honours <see cref="EmbeddingGenerationOptions.Dimensions"/> (truncating, then re-normalising when the model
/// normalises) and reports input tokens in <see cref="GeneratedEmbeddings{TEmbedding}.Usage"/>.
/// </summary>
public sealed class LastTokenEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly IEmbeddingModel model;
    private readonly bool ownsModel;

    /// <summary>Wraps <paramref name="model"/>.</summary>
    /// <param name="model">The model to embed with.</param>
    /// <param name="role">Role given to every input (query by default).</param>
    /// <param name="ownsModel">Whether disposing the generator disposes the model.</param>
    public LastTokenEmbeddingGenerator(IEmbeddingModel model, TextRole role = TextRole.Query, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        this.model = model;
        this.ownsModel = ownsModel;
        Role = role;
        Metadata = new EmbeddingGeneratorMetadata("LastTokenEmbeddings", providerUri: null, defaultModelId: model.ModelId, defaultModelDimensions: model.Dimensions);
    }

    /// <summary>The role every input is embedded as.</summary>
    public TextRole Role { get; }

    /// <summary>Provider, model id and dimensions.</summary>
    public EmbeddingGeneratorMetadata Metadata { get; }

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

        var texts = values as IReadOnlyList<string> ?? values.ToArray();
        var results = await model.EmbedAsync(texts, Role, progress: null, cancellationToken).ConfigureAwait(false);
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

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return Metadata;
        if (serviceType.IsInstanceOfType(model)) return model;
        if (serviceType.IsInstanceOfType(this)) return this;
        return null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (ownsModel) model.Dispose();
    }
}
