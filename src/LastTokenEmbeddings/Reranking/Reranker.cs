using LastTokenEmbeddings.Checkpoints;
using LastTokenEmbeddings.Embeddings;
using LastTokenEmbeddings.Pooling;

namespace LastTokenEmbeddings.Reranking;

/// <summary>
/// <see cref="IReranker"/> over a decoder checkpoint with an LM head (Qwen3-Reranker, or another decoder with a
/// <see cref="RerankPromptFormat.Custom"/> format). Only the two needed logits are computed per pair: the last
/// token's hidden state against the yes and no rows of the LM head.
/// </summary>
public sealed class Reranker : IReranker
{
    private readonly EmbeddingModel scorer;
    private readonly RerankPromptFormat format;
    private readonly int[] prefixIds;
    private readonly int[] suffixIds;

    private Reranker(EmbeddingModel model, RerankerOptions options)
    {
        format = options.Format ?? throw new ArgumentException("RerankerOptions.Format must be set.", nameof(options));
        var (yes, no) = format.TokenIds(model.Tokenizer);
        (prefixIds, suffixIds) = format.FixedIds(model.Tokenizer);
        scorer = model.WithOptions(new EmbeddingOptions
        {
            Pooling = new TokenLogitsPooling([no, yes]),
            Normalize = false,
            MaxTokens = options.MaxTokens,
            MaxBatchTokens = options.MaxBatchTokens,
            MaxBatchSize = options.MaxBatchSize,
        });
        if (scorer.MaxTokens <= prefixIds.Length + suffixIds.Length)
        {
            scorer.Dispose();
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxTokens, $"MaxTokens must exceed the {prefixIds.Length + suffixIds.Length} tokens of the '{format.Name}' template.");
        }
    }

    /// <summary>Loads a reranker from a model directory or a Hugging Face id (e.g. <c>Qwen/Qwen3-Reranker-0.6B</c>).</summary>
    /// <param name="modelDirectoryOrId">A directory or a hub id <c>ORG/NAME</c>.</param>
    /// <param name="options">Format and batching; Qwen3-Reranker's format by default.</param>
    /// <param name="loadOptions">Dtype, device, hub settings and model id.</param>
    /// <exception cref="CheckpointException">A file is missing, malformed or unsupported.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint has no LM head, or its vocabulary lacks the yes/no tokens.</exception>
    public static Reranker Load(string modelDirectoryOrId, RerankerOptions? options = null, ModelLoadOptions? loadOptions = null) =>
        Wrap(EmbeddingModel.Load(modelDirectoryOrId, new EmbeddingOptions(), loadOptions), options);

    /// <summary>As <see cref="Load"/>, downloading a hub model's missing files asynchronously.</summary>
    /// <param name="modelDirectoryOrId">A directory or a hub id <c>ORG/NAME</c>.</param>
    /// <param name="options">Format and batching; Qwen3-Reranker's format by default.</param>
    /// <param name="loadOptions">Dtype, device, hub settings and model id.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    public static async Task<Reranker> LoadAsync(string modelDirectoryOrId, RerankerOptions? options = null, ModelLoadOptions? loadOptions = null,
        CancellationToken cancellationToken = default) =>
        Wrap(await EmbeddingModel.LoadAsync(modelDirectoryOrId, new EmbeddingOptions(), loadOptions, cancellationToken: cancellationToken).ConfigureAwait(false), options);

    private static Reranker Wrap(EmbeddingModel model, RerankerOptions? options)
    {
        try
        {
            return new Reranker(model, (options ?? new RerankerOptions()).Clone());
        }
        finally
        {
            model.Dispose(); // the reranker holds its own view of the weights
        }
    }

    /// <inheritdoc />
    public string ModelId => scorer.ModelId;

    /// <inheritdoc />
    public int MaxTokens => scorer.MaxTokens;

    /// <summary>The prompt format.</summary>
    public RerankPromptFormat Format => format;

    /// <summary>The tokenizer (for tests).</summary>
    internal Tokenization.ModelTokenizer TokenizerForTests => scorer.Tokenizer;

    /// <summary>The ids the model reads for one pair: prefix, body (cut at its end to fit), suffix.</summary>
    /// <param name="query">The query.</param>
    /// <param name="document">The document.</param>
    /// <param name="instruction">The instruction; <see langword="null"/> for the format's default.</param>
    public int[] Tokenize(string query, string document, string? instruction = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(document);
        var body = format.BodyIds(scorer.Tokenizer, query, document, instruction);
        var room = MaxTokens - prefixIds.Length - suffixIds.Length;
        return [.. prefixIds, .. body.AsSpan(0, Math.Min(body.Length, room)), .. suffixIds];
    }

    /// <inheritdoc />
    public async Task<RerankResult> RerankAsync(string query, IReadOnlyList<string> documents, string? instruction = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(documents);
        if (instruction is not null)
            ArgumentException.ThrowIfNullOrWhiteSpace(instruction);
        var ids = new int[documents.Count][];
        for (var i = 0; i < documents.Count; i++)
            ids[i] = Tokenize(query, documents[i] ?? throw new ArgumentNullException(nameof(documents), $"documents[{i}] is null."), instruction);
        var logits = await scorer.EmbedTokenIdsAsync(ids, cancellationToken: cancellationToken).ConfigureAwait(false);
        var scored = new RankedDocument[documents.Count];
        for (var i = 0; i < scored.Length; i++)
        {
            // softmax over [no, yes] at the last position = sigmoid(yes - no).
            var logOdds = logits[i].Vector[1] - logits[i].Vector[0];
            scored[i] = new RankedDocument(i, (float)(1 / (1 + Math.Exp(-logOdds))), logOdds);
        }
        return new RerankResult(scored);
    }

    /// <summary>Releases this reranker's view of the weights.</summary>
    public void Dispose() => scorer.Dispose();
}
