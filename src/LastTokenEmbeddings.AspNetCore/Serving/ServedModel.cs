using System.Numerics.Tensors;
using LastTokenEmbeddings.AspNetCore.Endpoints;
using LastTokenEmbeddings.AspNetCore.Http;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;
using LastTokenEmbeddings.Tokenization;
using Microsoft.Extensions.Options;

namespace LastTokenEmbeddings.AspNetCore.Serving;

/// <summary>How one request wants its inputs embedded.</summary>
/// <param name="Role">Query or document.</param>
/// <param name="PromptName">A prompt the checkpoint declares, or none.</param>
/// <param name="Truncate">Cut over-long inputs instead of refusing them.</param>
/// <param name="Direction">Which end truncation cuts.</param>
/// <param name="Normalize">L2-normalise the returned vectors.</param>
/// <param name="Dimensions">Keep the first N dimensions (before normalising), or all.</param>
internal sealed record EmbedSettings(TextRole Role, string? PromptName, bool Truncate, TruncationDirection Direction, bool Normalize, int? Dimensions);

/// <summary>The vectors of one request, in input order, and the tokens the decoder saw.</summary>
internal sealed record EmbedOutcome(float[][] Vectors, long PromptTokens);

/// <summary>
/// The model behind the endpoints and everything the endpoints need to know about it. Embedding goes through a
/// view of the model that does not normalise, so each request can choose normalisation and dimensions (TEI's
/// <c>normalize</c>, OpenAI's <c>dimensions</c>) while every request still shares the same forward passes.
/// </summary>
internal sealed class ServedModel : IDisposable
{
    private readonly IEmbeddingModel embedder;
    private readonly bool embedderNormalizes;
    private readonly bool ownsEmbedder;
    private readonly SemaphoreSlim? oneRequestAtATime;

    public ServedModel(IEmbeddingModel model, IOptions<EmbeddingServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        Model = model;
        ServedName = string.IsNullOrWhiteSpace(settings.ServedModelName) ? model.ModelId : settings.ServedModelName;
        if (settings.CrossRequestBatching is false)
            oneRequestAtATime = new SemaphoreSlim(1, 1);

        if (model is EmbeddingModel library)
        {
            Tokenizer = library.Tokenizer;
            DeclaredPrompts = library.DeclaredSettings?.Prompts ?? new Dictionary<string, string>();
            DType = library.Checkpoint.ComputeDType;
            var modelOptions = library.GetOptions();
            MaxBatchTokens = modelOptions.MaxBatchTokens;
            MaxBatchSize = modelOptions.MaxBatchSize;
            if (library.Normalize)
            {
                // A second view of the same weights: shares the loaded checkpoint and its forward-pass queue.
                modelOptions.Normalize = false;
                embedder = library.WithOptions(modelOptions);
                ownsEmbedder = true;
            }
            else
            {
                embedder = model;
            }
        }
        else
        {
            embedder = model;
            embedderNormalizes = model.Normalize;
        }
    }

    /// <summary>The model as registered.</summary>
    public IEmbeddingModel Model { get; }

    /// <summary>The name clients use for the model.</summary>
    public string ServedName { get; }

    /// <summary>The tokenizer, for <c>/tokenize</c>; <see langword="null"/> for models other than <see cref="EmbeddingModel"/>.</summary>
    public ModelTokenizer? Tokenizer { get; }

    /// <summary>Prompts the checkpoint declares by name (TEI's <c>prompt_name</c>); <see langword="null"/> when unknown (models other than <see cref="EmbeddingModel"/>).</summary>
    public IReadOnlyDictionary<string, string>? DeclaredPrompts { get; }

    /// <summary>The compute dtype, e.g. "float32"; empty when unknown.</summary>
    public string DType { get; } = "";

    /// <summary>Most padded tokens in one forward pass, when known.</summary>
    public int? MaxBatchTokens { get; }

    /// <summary>Most texts in one forward pass, when known.</summary>
    public int? MaxBatchSize { get; }

    /// <summary>The pooling's name in TEI's vocabulary where TEI has one (<c>last_token</c>, <c>mean</c>), else the library's.</summary>
    public string PoolingName => Model.Pooling switch
    {
        LastTokenHiddenPooling { Layer: null } => "last_token",
        MeanPooling { Layer: null } => "mean",
        var other => other.Name,
    };

    /// <summary>Whether a request may ask for vectors that are not normalised.</summary>
    public bool CanSkipNormalization => !embedderNormalizes;

    /// <summary>Whether an id is outside the model's vocabulary, when the vocabulary is known.</summary>
    private int? VocabularySize => (Model as EmbeddingModel)?.Config.VocabSize;

    /// <summary>Embeds a request's inputs (texts and token ids may mix), shaped as the request asks.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="settings">Role, prompt, truncation and shaping.</param>
    /// <param name="cancellationToken">The client's abort token: cancelling drops the request's queued texts.</param>
    public async Task<EmbedOutcome> EmbedAsync(IReadOnlyList<EmbeddingInput> inputs, EmbedSettings settings, CancellationToken cancellationToken)
    {
        Validate(settings);
        var textIndices = new List<int>();
        var idIndices = new List<int>();
        for (var i = 0; i < inputs.Count; i++)
            (inputs[i].Text is null ? idIndices : textIndices).Add(i);
        var idInputs = idIndices.Select(i => (IReadOnlyList<int>)PrepareIds(inputs[i].Ids!, settings, i)).ToArray();

        if (oneRequestAtATime is not null)
            await oneRequestAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var call = new EmbeddingCallOptions
            {
                Role = settings.Role,
                PromptName = settings.PromptName,
                Truncation = settings.Truncate ? TruncationPolicy.Truncate : TruncationPolicy.Throw,
                TruncationDirection = settings.Direction,
            };
            // Both calls are queued at once, so their texts can share forward passes.
            var texts = textIndices.Count == 0
                ? Task.FromResult<IReadOnlyList<TextEmbedding>>([])
                : embedder.EmbedAsync(textIndices.Select(i => inputs[i].Text!).ToArray(), call, progress: null, cancellationToken);
            var ids = idInputs.Length == 0
                ? Task.FromResult<IReadOnlyList<TextEmbedding>>([])
                : embedder.EmbedTokenIdsAsync(idInputs, progress: null, cancellationToken);
            await Task.WhenAll(texts, ids).ConfigureAwait(false);

            var vectors = new float[inputs.Count][];
            long tokens = 0;
            foreach (var (results, indices) in new[] { (texts.Result, textIndices), (ids.Result, idIndices) })
            {
                for (var k = 0; k < indices.Count; k++)
                {
                    vectors[indices[k]] = Shape(results[k].Vector, settings);
                    tokens += results[k].TokenCount;
                }
            }
            return new EmbedOutcome(vectors, tokens);
        }
        finally
        {
            oneRequestAtATime?.Release();
        }
    }

    private void Validate(EmbedSettings settings)
    {
        if (settings.Dimensions is { } dimensions && dimensions > Model.Dimensions)
            throw new ApiException(ApiErrorKind.Validation, $"`dimensions` must be at most {Model.Dimensions} for this model, not {dimensions}.", "dimensions");
        if (!settings.Normalize && !CanSkipNormalization)
            throw new ApiException(ApiErrorKind.Validation, "This model only serves normalised vectors; `normalize` cannot be false.", "normalize");
    }

    /// <summary>Token-id inputs are checked and truncated here, so truncation follows the request, not the model.</summary>
    private int[] PrepareIds(int[] ids, EmbedSettings settings, int index)
    {
        if (VocabularySize is { } vocabulary && ids.FirstOrDefault(id => id >= vocabulary, -1) is var outside and >= 0)
            throw new ApiException(ApiErrorKind.Validation, $"Input {index} holds token id {outside}, outside the vocabulary [0, {vocabulary}).", "input");
        if (ids.Length <= Model.MaxTokens)
            return ids;
        if (!settings.Truncate)
            throw ApiException.InputTooLong(ids.Length, Model.MaxTokens);
        return settings.Direction == TruncationDirection.Left ? ids[^Model.MaxTokens..] : ids[..Model.MaxTokens];
    }

    private float[] Shape(float[] vector, EmbedSettings settings)
    {
        var cut = settings.Dimensions is { } dimensions && dimensions < vector.Length;
        var shaped = cut ? vector[..settings.Dimensions!.Value] : vector;
        if (settings.Normalize && (cut || !embedderNormalizes))
        {
            // Normalising is a rescale, so normalising the prefix equals cutting before normalising (the library's order).
            var norm = TensorPrimitives.Norm(shaped);
            if (norm > 0)
            {
                if (ReferenceEquals(shaped, vector))
                    shaped = (float[])vector.Clone();
                TensorPrimitives.Divide(shaped, norm, shaped);
            }
        }
        return shaped;
    }

    /// <summary>Releases the non-normalising view (the registered model belongs to whoever registered it).</summary>
    public void Dispose()
    {
        if (ownsEmbedder)
            embedder.Dispose();
        oneRequestAtATime?.Dispose();
    }
}
