using LastTokenEmbeddings.AI;
using LastTokenEmbeddings.Similarity;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.AI;

namespace LastTokenEmbeddings.Embeddings;

/// <summary>Microsoft.Extensions.AI generators and contiguous batch results over a loaded <see cref="IEmbeddingModel"/>.</summary>
public static class EmbeddingModelExtensions
{
    /// <summary>
    /// The model as a Microsoft.Extensions.AI generator. It does not own the model: disposing it leaves the model loaded.
    /// To add caching middleware, start from <see cref="AsEmbeddingGeneratorBuilder"/> instead.
    /// </summary>
    /// <param name="model">The loaded model.</param>
    /// <param name="defaultRole">Role of inputs whose options name none (<see cref="EmbeddingGenerationOptionsExtensions.WithRole"/>).</param>
    /// <returns>A <see cref="LastTokenEmbeddingGenerator"/>.</returns>
    public static IEmbeddingGenerator<string, Embedding<float>> AsIEmbeddingGenerator(this IEmbeddingModel model, TextRole defaultRole = TextRole.Query) =>
        new LastTokenEmbeddingGenerator(model, defaultRole);

    /// <summary>
    /// A pipeline builder over <see cref="AsIEmbeddingGenerator"/> whose first (outermost) stage writes the model's
    /// settings, the call's role and the dimensions into the options, so that middleware added after it, such as
    /// <c>UseDistributedCache()</c>, keys on them. Add <c>UseOpenTelemetry()</c>, <c>UseLogging()</c>, caching, then <c>Build()</c>.
    /// </summary>
    /// <param name="model">The loaded model; the built pipeline does not own it.</param>
    /// <param name="defaultRole">Role of inputs whose options name none.</param>
    /// <returns>The builder.</returns>
    public static EmbeddingGeneratorBuilder<string, Embedding<float>> AsEmbeddingGeneratorBuilder(this IEmbeddingModel model, TextRole defaultRole = TextRole.Query) =>
        new EmbeddingGeneratorBuilder<string, Embedding<float>>(model.AsIEmbeddingGenerator(defaultRole)).UseModelSettingsInOptions();

    /// <summary>
    /// Embeds texts as <see cref="IEmbeddingModel.EmbedAsync(IReadOnlyList{string}, EmbeddingCallOptions, IProgress{EmbeddingProgress}?, CancellationToken)"/>
    /// does and returns the vectors as one row-major <see cref="EmbeddingMatrix"/> (row i is text i), ready for
    /// <see cref="CosineSimilarity.TopK"/> or quantization without one array per text.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="texts">The texts.</param>
    /// <param name="call">Role, instruction, prompt and truncation; <see langword="null"/>: queries with the model's defaults.</param>
    /// <param name="progress">Receives progress after each batch.</param>
    /// <param name="cancellationToken">Removes the call's remaining texts from the queue.</param>
    /// <returns><c>texts.Count</c> × <see cref="IEmbeddingModel.Dimensions"/> matrix.</returns>
    public static async Task<EmbeddingMatrix> EmbedMatrixAsync(this IEmbeddingModel model, IReadOnlyList<string> texts, EmbeddingCallOptions? call = null,
        IProgress<EmbeddingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var results = await model.EmbedAsync(texts, call ?? EmbeddingCallOptions.Query, progress, cancellationToken).ConfigureAwait(false);
        var dimensions = model.Dimensions;
        var values = new float[checked(results.Count * dimensions)];
        for (var i = 0; i < results.Count; i++)
        {
            var vector = results[i].Vector;
            if (vector.Length != dimensions)
                throw new InvalidOperationException($"'{model.ModelId}' returned {vector.Length} values for text {i}, not its {dimensions} dimensions.");
            vector.CopyTo(values.AsSpan(i * dimensions, dimensions));
        }
        return EmbeddingMatrix.FromFlat(values, dimensions);
    }

    /// <summary>
    /// Adds the stage that writes the <see cref="LastTokenEmbeddingGenerator"/>'s settings into every call's options.
    /// Add it first, so it is the outermost stage and every later one sees the settings.
    /// </summary>
    internal static EmbeddingGeneratorBuilder<string, Embedding<float>> UseModelSettingsInOptions(this EmbeddingGeneratorBuilder<string, Embedding<float>> builder) =>
        builder.Use(inner =>
        {
            var generator = inner.GetService<LastTokenEmbeddingGenerator>()
                ?? throw new InvalidOperationException(
                    $"The pipeline has no {nameof(LastTokenEmbeddingGenerator)} at its end (or a stage hides it from GetService), so its settings cannot be written into the options.");
            return new ConfigureOptionsEmbeddingGenerator<string, Embedding<float>>(inner, generator.WriteSettingsInto);
        });
}
